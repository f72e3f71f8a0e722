"""A client for Cloudflare's D1 REST API, on httpx.

Endpoints (Cloudflare API v4, under ``/accounts/{account_id}/d1/database``):

- ``GET  ""`` lists databases, paginated with ``page`` and ``per_page``, and
  filtered by ``name``;
- ``POST /{database_id}/query`` runs SQL and returns one result object per
  statement (``results`` as objects, ``success``, ``meta``);
- ``POST /{database_id}/raw`` does the same with rows as arrays and
  ``columns``.

Every response is an envelope ``{"result": ..., "success": bool, "errors":
[{"code", "message"}], "messages": [...]}``. An invalid SQL statement comes
back as HTTP 400 with error code 7500, and the whole request is rolled back.

The client retries with exponential backoff on 429 (honouring
``Retry-After``, capped at ``max_backoff_seconds``), on 5xx and on
connection errors and timeouts, and never on other 4xx.
The API token goes only into the ``Authorization`` header: it is left out of
``repr``, log lines and exception messages.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import httpx

from dmodel.conventions import quote_string
from dmodel.errors import DmodelError, InputError

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
TOKEN_VARIABLE = "CLOUDFLARE_D1_TOKEN"
ACCOUNT_VARIABLE = "CLOUDFLARE_ACCOUNT_ID"
SQL_ERROR_CODE = 7500
LEDGER_TABLE = "d1_migrations"

# wrangler's definition of its migration ledger (wrangler 4.85.0, src/d1/migrations/helpers.ts).
CREATE_LEDGER = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE}(\n"
    "    id         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    name       TEXT UNIQUE,\n"
    "    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n"
    ");"
)

logger = logging.getLogger(__name__)

Execute = Callable[[str], list[dict[str, Any]]]


class D1ApiError(DmodelError):
    """An error response from the D1 API, or no response after every retry.

    ``code`` is the API's error code, such as 7500 for an SQL error. It is
    None when no envelope came back. ``status`` is the HTTP status, or None
    after a connection error.
    """

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None,
                 database_id: str | None = None) -> None:
        self.message = message
        self.code = code
        self.status = status
        self.database_id = database_id
        # Set by apply_migrations: what was applied before the failure.
        self.outcome: ApplyOutcome | None = None
        super().__init__(self.render())

    def render(self) -> str:
        where = f"D1 database {self.database_id}: " if self.database_id else "D1 API: "
        code = f" (code {self.code})" if self.code is not None else ""
        return f"{where}{self.message}{code}"

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "status": self.status,
                "database_id": self.database_id}


@dataclass(frozen=True)
class Credentials:
    """An account id and an API token; the token is never part of ``repr``."""

    account_id: str
    token: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Credentials":
        environ = os.environ if environ is None else environ
        missing = [name for name in (ACCOUNT_VARIABLE, TOKEN_VARIABLE) if not environ.get(name, "").strip()]
        if missing:
            raise InputError(f"{' and '.join(missing)} not set", place="environment",
                             fix=f"export {ACCOUNT_VARIABLE} (the account id) and {TOKEN_VARIABLE} "
                                 "(an API token with D1 Read and D1 Write)")
        return cls(account_id=environ[ACCOUNT_VARIABLE].strip(), token=environ[TOKEN_VARIABLE].strip())


@dataclass(frozen=True)
class Migration:
    """One top-level ``.sql`` file of a migrations folder."""

    name: str
    path: Path

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read the migration: {error}", file=str(self.path),
                             fix="check that the file exists and is UTF-8") from None


def list_migrations(folder: Path) -> list[Migration]:
    """Return the migrations wrangler would apply from ``folder``, in wrangler's order.

    wrangler takes every top-level file whose name ends in ``.sql``, sorts the
    names, then orders them by the number before the first ``_``. Names
    without a number come last here, in name order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("migrations folder not found", file=str(folder),
                         fix="pass the folder that holds the NNNN_<slug>.sql files")
    names = sorted(path.name for path in folder.iterdir() if path.is_file() and path.name.endswith(".sql"))
    return [Migration(name, folder / name) for name in sorted(names, key=_migration_number)]


def _migration_number(name: str) -> float:
    match = re.match(r"\s*[+-]?\d+", name.split("_")[0])
    return int(match.group()) if match else math.inf


@dataclass
class ApplyOutcome:
    """The migration state of one database before and after ``apply_migrations``."""

    database_id: str
    applied_before: list[str]
    applied_now: list[str]
    pending: list[str]


class D1Client:
    """D1 REST API client. Pass ``transport`` and ``base_url`` to talk to a test server."""

    def __init__(self, credentials: Credentials, *, base_url: str = DEFAULT_BASE_URL,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 max_retries: int = 5, backoff_seconds: float = 0.5, max_backoff_seconds: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.account_id = credentials.account_id
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Bearer {credentials.token}", "Accept": "application/json"},
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> "D1Client":
        return cls(Credentials.from_env(environ), **options)

    def __repr__(self) -> str:
        return f"D1Client(account_id={self.account_id!r}, base_url={self.base_url!r})"

    def __enter__(self) -> "D1Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Queries

    def query(self, database_id: str, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL (one or more statements, applied atomically) and return one result per statement.

        Each result has ``results`` (rows as dicts), ``success`` and ``meta``.
        """
        return self._post_sql(database_id, "query", sql, params)

    def raw(self, database_id: str, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL like ``query``; each result's ``results`` has ``columns`` and ``rows`` as arrays."""
        return self._post_sql(database_id, "raw", sql, params)

    def executor(self, database_id: str) -> Execute:
        """Return ``execute(sql) -> rows`` for one database, the form introspection takes.

        The rows are those of the last statement in ``sql``. Remote D1 rejects
        table-valued pragma functions, so callers send one plain PRAGMA per
        table (``PRAGMA table_xinfo(t)``).
        """
        def execute(sql: str) -> list[dict[str, Any]]:
            results = self.query(database_id, sql)
            return list(results[-1].get("results") or []) if results else []
        return execute

    def list_databases(self, name_prefix: str | None = None, per_page: int = 100) -> list[dict[str, Any]]:
        """Return every database of the account (``uuid``, ``name``...), following pagination.

        With ``name_prefix``, the API's ``name`` filter narrows the search and
        only names that start with the prefix are kept.
        """
        databases: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "per_page": per_page}
            if name_prefix:
                params["name"] = name_prefix
            envelope = self._request("GET", self._database_path(), params=params)
            batch = envelope.get("result") or []
            databases.extend(batch)

            info = envelope.get("result_info") or {}
            total_pages = info.get("total_pages")
            if total_pages is None and info.get("total_count") is not None:
                total_pages = math.ceil(info["total_count"] / per_page)
            if not batch or (total_pages is not None and page >= total_pages) or (
                    total_pages is None and len(batch) < per_page):
                break
            page += 1

        if name_prefix:
            databases = [database for database in databases if str(database.get("name", "")).startswith(name_prefix)]
        return databases

    # Migrations

    def applied_migrations(self, database_id: str) -> list[str]:
        """Return the names recorded in ``d1_migrations``, in the order applied; [] when it is missing."""
        ledger = self.query(
            database_id, f"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{LEDGER_TABLE}'")
        if not ledger or not ledger[0].get("results"):
            return []
        rows = self.query(database_id, f"SELECT name FROM {LEDGER_TABLE} ORDER BY id")
        return [row["name"] for row in rows[0].get("results") or []]

    def pending_migrations(self, database_id: str, migrations: Iterable[Migration]) -> tuple[list[str], list[Migration]]:
        """Return the applied names and the migrations not yet applied, in apply order."""
        applied = self.applied_migrations(database_id)
        done = set(applied)
        return applied, [migration for migration in migrations if migration.name not in done]

    def apply_migrations(self, database_id: str, migrations: Sequence[Migration],
                         dry_run: bool = False) -> ApplyOutcome:
        """Apply pending migrations in order, the way ``wrangler d1 migrations apply`` does.

        Each file goes in one request together with the INSERT that records it
        in ``d1_migrations``, so D1 applies both or neither. The ledger is the
        truth: a file whose name it contains is never sent again, which makes a
        run after a failure resume where the failure stopped it.
        """
        applied_before, pending = self.pending_migrations(database_id, migrations)
        outcome = ApplyOutcome(database_id, applied_before, [], [migration.name for migration in pending])
        if dry_run or not pending:
            return outcome

        try:
            self.query(database_id, CREATE_LEDGER)
        except D1ApiError as error:
            error.outcome = outcome
            raise
        for migration in pending:
            sql = migration.read()
            record = f"\nINSERT INTO {LEDGER_TABLE} (name) VALUES ({quote_string(migration.name)});\n"
            try:
                self.query(database_id, sql.rstrip() + record)
            except D1ApiError as error:
                # A retried request fails when its first attempt was applied but
                # the response was lost, so the ledger decides whether it counts.
                if not self._ledger_contains(database_id, migration.name):
                    failure = D1ApiError(f"{migration.name}: {error.message}", code=error.code,
                                         status=error.status, database_id=database_id)
                    failure.outcome = outcome
                    raise failure from None
                logger.warning("D1 database %s: %s was applied by an earlier attempt whose response was lost",
                               database_id, migration.name)
            outcome.applied_now.append(migration.name)
            outcome.pending.remove(migration.name)
            logger.info("D1 database %s: applied %s", database_id, migration.name)
        return outcome

    def _ledger_contains(self, database_id: str, name: str) -> bool:
        try:
            return name in self.applied_migrations(database_id)
        except D1ApiError:
            return False

    # HTTP

    def _database_path(self, database_id: str | None = None, action: str | None = None) -> str:
        path = f"/accounts/{self.account_id}/d1/database"
        if database_id:
            path += f"/{database_id}"
        if action:
            path += f"/{action}"
        return path

    def _post_sql(self, database_id: str, action: str, sql: str,
                  params: Sequence[Any] | None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sql": sql}
        if params:
            body["params"] = list(params)
        envelope = self._request("POST", self._database_path(database_id, action), json=body,
                                 database_id=database_id)
        results = envelope.get("result") or []
        for result in results:
            if result.get("success") is False:
                raise D1ApiError(str(result.get("error") or "a statement failed"), code=SQL_ERROR_CODE,
                                 database_id=database_id)
        return results

    def _request(self, method: str, path: str, *, database_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                if attempt >= self.max_retries:
                    raise D1ApiError(f"request failed after {attempt + 1} attempts: "
                                     f"{type(error).__name__}: {error}", database_id=database_id) from None
                delay = self._backoff(attempt)
                logger.warning("D1 API %s %s: %s; retrying in %.1f s (attempt %d of %d)", method,
                               self._redact(path), type(error).__name__, delay, attempt + 1, self.max_retries)
            else:
                retryable = response.status_code == 429 or response.status_code >= 500
                if not retryable or attempt >= self.max_retries:
                    return self._envelope(response, database_id)
                delay = self._retry_after(response) if response.status_code == 429 else None
                delay = self._backoff(attempt) if delay is None else min(delay, self.max_backoff_seconds)
                logger.warning("D1 API %s %s: HTTP %d; retrying in %.1f s (attempt %d of %d)", method,
                               self._redact(path), response.status_code, delay, attempt + 1, self.max_retries)
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** attempt, self.max_backoff_seconds)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, moment.timestamp() - time.time())

    def _redact(self, path: str) -> str:
        return path.replace(self.account_id, "<account>") if self.account_id else path

    def _envelope(self, response: httpx.Response, database_id: str | None) -> dict[str, Any]:
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            raise D1ApiError(f"HTTP {response.status_code} without a JSON envelope", status=response.status_code,
                             database_id=database_id)

        if response.is_success and envelope.get("success", True):
            return envelope

        errors = envelope.get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        message = "; ".join(str(error.get("message", error)) if isinstance(error, dict) else str(error)
                            for error in errors) or f"HTTP {response.status_code}"
        raise D1ApiError(message, code=first.get("code"), status=response.status_code, database_id=database_id)
