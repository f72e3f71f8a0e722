"""A fake D1 REST API on 127.0.0.1, backed by real SQLite files.

It serves the endpoints ``dmodel.d1client`` uses, with the real envelope:

- ``GET  /client/v4/accounts/{account}/d1/database`` (``page``, ``per_page``, ``name``)
- ``POST /client/v4/accounts/{account}/d1/database/{id}/query`` and ``/raw``

Like D1, it splits a request into statements and runs them in one transaction
with foreign keys on. On the first error it rolls back and responds with HTTP
400 and error code 7500. It rejects transaction control and table-valued
pragma functions. Tests plan faults (429 with ``Retry-After``, 500, a slow
response, a connection dropped before or after the work) with ``fail``.

Usage::

    with FakeD1Api(tmp_path, token="t0ken") as api:
        database_id = api.add_database("tenant-a")
        client = D1Client(Credentials(api.account_id, "t0ken"), base_url=api.base_url)

Test modules can instead import the fixtures below (``api``, ``client``,
``sleeps`` and the autouse ``token_never_shown``), which use ``TOKEN``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dmodel.d1client import Credentials, D1Client
from dmodel.d1rules import ALLOWED_PRAGMAS, TRANSACTION_KEYWORDS, split_statements

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
TOKEN = "d1-test-token-5f3c9a7e"
_ROUTE = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/d1/database(?:/(?P<database>[^/]+)/(?P<action>query|raw))?/?$")
_PRAGMA_FUNCTION = re.compile(r"\bpragma_\w+\s*\(", re.IGNORECASE)


@dataclass
class Fault:
    """A planned failure for the next ``times`` requests that match."""

    kind: str  # "429", "500", "drop", "drop_after", "slow"
    times: int = 1
    database_id: str | None = None
    sql_contains: str | None = None
    retry_after: str | None = None
    delay_seconds: float = 0.0
    after: "Fault | None" = None  # armed only once this other fault is used up

    def matches(self, database_id: str | None, sql: str) -> bool:
        if self.times <= 0:
            return False
        if self.after is not None and self.after.times > 0:
            return False
        if self.database_id is not None and self.database_id != database_id:
            return False
        return self.sql_contains is None or self.sql_contains in sql


@dataclass
class Database:
    uuid: str
    name: str
    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)


class SqlError(Exception):
    pass


class FakeD1Api:
    """The fake API server; start it with ``with`` or ``start()``."""

    def __init__(self, root: Path, token: str, account_id: str = ACCOUNT_ID) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.account_id = account_id
        self.databases: dict[str, Database] = {}
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []  # method, path, query, sql, status
        self.log_lines: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the maximum number of requests handled at the same time
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Setup

    def add_database(self, name: str) -> str:
        database_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-d1/{name}"))
        path = self.root / f"{name}.sqlite"
        sqlite3.connect(path).close()
        self.databases[database_id] = Database(database_id, name, path)
        return database_id

    def connect(self, database_id: str) -> sqlite3.Connection:
        """Open a database file directly, for checks and setup in tests."""
        connection = sqlite3.connect(self.databases[database_id].path)
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def fail(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def sql_requests(self, database_id: str | None = None, contains: str = "") -> list[dict[str, Any]]:
        return [request for request in self.requests if request["sql"] is not None
                and (database_id is None or request["database_id"] == database_id)
                and contains in request["sql"]]

    # Server lifecycle

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/client/v4"

    def start(self) -> "FakeD1Api":
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-d1-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeD1Api":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Request handling, called from the handler threads

    def take_fault(self, database_id: str | None, sql: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(database_id, sql):
                    fault.times -= 1
                    return fault
        return None

    def list_databases(self, query: dict[str, list[str]]) -> dict[str, Any]:
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["1000"])[0])
        name = query.get("name", [""])[0]
        matching = sorted((database for database in self.databases.values() if name in database.name),
                          key=lambda database: database.name)
        chunk = matching[(page - 1) * per_page: page * per_page]
        result = [{"uuid": database.uuid, "name": database.name, "version": "production",
                   "created_at": "2026-01-01T00:00:00.000Z"} for database in chunk]
        total_pages = max(1, -(-len(matching) // per_page))
        return _envelope(result, result_info={"page": page, "per_page": per_page, "count": len(chunk),
                                              "total_count": len(matching), "total_pages": total_pages})

    def run_sql(self, database_id: str, action: str, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        database = self.databases[database_id]
        statements = [statement.text for statement in split_statements(sql)]
        for statement in statements:
            _check_authorized(statement)

        with database.lock:
            connection = sqlite3.connect(database.path, isolation_level=None)
            try:
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("BEGIN")
                results = [self._run_statement(connection, action, statement,
                                               params if len(statements) == 1 else [])
                           for statement in statements]
                connection.execute("COMMIT")
            except sqlite3.Error as error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise SqlError(f"{error}: SQLITE_ERROR") from None
            finally:
                connection.close()
        size = database.path.stat().st_size
        for result in results:
            result["meta"]["size_after"] = size
        return results

    @staticmethod
    def _run_statement(connection: sqlite3.Connection, action: str, statement: str,
                       params: list[Any]) -> dict[str, Any]:
        before = connection.total_changes
        started = time.perf_counter()
        cursor = connection.execute(statement, params)
        columns = [column[0] for column in cursor.description or []]
        rows = cursor.fetchall()
        changes = connection.total_changes - before
        if action == "raw":
            results: Any = {"columns": columns, "rows": [list(row) for row in rows]}
        else:
            results = [dict(zip(columns, row)) for row in rows]
        return {
            "results": results,
            "success": True,
            "meta": {"changed_db": changes > 0, "changes": changes, "last_row_id": cursor.lastrowid or 0,
                     "duration": round((time.perf_counter() - started) * 1000, 3),
                     "rows_read": len(rows), "rows_written": changes, "served_by_primary": True},
        }


def _check_authorized(statement: str) -> None:
    """Reject what remote D1 rejects before running anything."""
    words = statement.split(None, 2)
    first = words[0].upper() if words else ""
    if first in TRANSACTION_KEYWORDS:
        raise SqlError("To execute a transaction, please use the state.storage.transaction() APIs instead "
                       "of the SQL BEGIN TRANSACTION or SAVEPOINT statements: SQLITE_AUTH")
    if _PRAGMA_FUNCTION.search(statement):
        raise SqlError("not authorized to use function: pragma functions: SQLITE_AUTH")
    if first == "PRAGMA" and len(words) > 1:
        name = re.split(r"[\s(=;]", words[1], maxsplit=1)[0].split(".")[-1].lower()
        if name not in ALLOWED_PRAGMAS:
            raise SqlError("not authorized: SQLITE_AUTH")


def _envelope(result: Any, **extra: Any) -> dict[str, Any]:
    return {"result": result, "success": True, "errors": [], "messages": [], **extra}


def _error_envelope(code: int, message: str) -> dict[str, Any]:
    return {"result": None, "success": False, "errors": [{"code": code, "message": message}], "messages": []}


class _Handler(BaseHTTPRequestHandler):
    api: FakeD1Api
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        self.api.log_lines.append(format % args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        with self.api._lock:
            self.api.in_flight += 1
            self.api.max_in_flight = max(self.api.max_in_flight, self.api.in_flight)
        try:
            self._respond(method)
        finally:
            with self.api._lock:
                self.api.in_flight -= 1

    def _respond(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route = _ROUTE.match(url.path)
        database_id = route.group("database") if route else None
        sql = None
        params: list[Any] = []
        if method == "POST" and body:
            try:
                payload = json.loads(body)
                sql, params = payload.get("sql"), payload.get("params") or []
            except ValueError:
                pass
        record = {"method": method, "path": url.path, "query": url.query, "database_id": database_id,
                  "sql": sql, "status": None}
        self.api.requests.append(record)

        if self.headers.get("Authorization") != f"Bearer {self.api.token}":
            return self._send(record, 401, _error_envelope(10000, "Authentication error"))
        if route is None or route.group("account") != self.api.account_id:
            return self._send(record, 404, _error_envelope(7003, "Could not route to the requested path"))
        if database_id is not None and database_id not in self.api.databases:
            return self._send(record, 404, _error_envelope(7404, f"The database {database_id} could not be found"))

        fault = self.api.take_fault(database_id, sql or "")
        if fault is not None and fault.kind == "429":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return self._send(record, 429, _error_envelope(971, "Please wait and consider throttling your "
                                                                 "request speed"), headers)
        if fault is not None and fault.kind == "500":
            return self._send(record, 500, _error_envelope(7000, "Internal server error"))
        if fault is not None and fault.kind == "drop":
            return self._drop(record)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_seconds)

        if method == "GET" and database_id is None:
            return self._send(record, 200, self.api.list_databases(parse_qs(url.query)))
        if method != "POST" or database_id is None or sql is None:
            return self._send(record, 400, _error_envelope(7400, "The request is malformed: missing sql"))
        try:
            results = self.api.run_sql(database_id, route.group("action"), sql, params)
        except SqlError as error:
            return self._send(record, 400, _error_envelope(7500, str(error)))
        if fault is not None and fault.kind == "drop_after":
            return self._drop(record, "committed, dropped")
        return self._send(record, 200, _envelope(results))

    def _send(self, record: dict[str, Any], status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        record["status"] = status
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self, record: dict[str, Any], status: str = "dropped") -> None:
        """Close the connection without a response, as a network failure would."""
        record["status"] = status
        self.close_connection = True
        self.connection.shutdown(2)


def cli_runner(monkeypatch, api: FakeD1Api, module: str, command: str):
    """Return ``run(*arguments)`` for the real ``dmodel`` entry point, aimed at the fake API.

    Only ``module`` is registered, the credentials are set in the environment
    and ``--base-url`` points at ``api``; ``run`` returns the exit status.
    """
    from dmodel import cli
    from dmodel.d1client import ACCOUNT_VARIABLE, TOKEN_VARIABLE

    monkeypatch.setattr(cli, "COMMAND_MODULES", [module])
    monkeypatch.setenv(ACCOUNT_VARIABLE, api.account_id)
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    return lambda *arguments: cli.main([command, *arguments, "--base-url", api.base_url])


@pytest.fixture
def api(tmp_path):
    with FakeD1Api(tmp_path / "api", token=TOKEN) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the client asked to sleep, recorded instead of slept."""
    return []


@pytest.fixture
def client(api, sleeps):
    with D1Client(Credentials(api.account_id, TOKEN), base_url=api.base_url, sleep=sleeps.append,
                  timeout=5.0, max_retries=2) as d1:
        yield d1


@pytest.fixture(autouse=True)
def token_never_shown(caplog, capsys, request):
    """Fail any test whose logs, stdout, stderr, fake-server log lines or files contain the token."""
    caplog.set_level(logging.DEBUG)
    server = request.getfixturevalue("api") if "api" in request.fixturenames else None
    folder = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    captured = capsys.readouterr()
    assert TOKEN not in caplog.text
    assert TOKEN not in captured.out
    assert TOKEN not in captured.err
    if server is not None:
        assert not any(TOKEN in line for line in server.log_lines)
    if folder is not None:
        written = [path for path in folder.rglob("*") if path.is_file() and TOKEN.encode() in path.read_bytes()]
        assert written == []
