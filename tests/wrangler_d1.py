"""A local D1 for tests: a throwaway wrangler project that runs workerd's D1 engine.

Usage from a test module (pytest puts ``tests/`` on ``sys.path``)::

    from wrangler_d1 import LocalD1, requires_wrangler

    @requires_wrangler
    def test_something(tmp_path):
        d1 = LocalD1(tmp_path)
        d1.add_migration("0001_init.sql", "CREATE TABLE t (a);\\n")
        d1.apply_migrations()
        assert d1.execute("SELECT count(*) AS n FROM t") == [[{"n": 0}]]
        with d1.connect_readonly() as connection:
            ...

wrangler is the version pinned in ``package.json`` and installed by
``npm ci`` (``make test`` runs it). Tests that need it are skipped, with the
reason, where node or ``node_modules`` is missing. Each wrangler call starts
workerd and takes a second or two, so batch SQL into few calls.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
WRANGLER = REPOSITORY / "node_modules" / ".bin" / "wrangler"
DATABASE_NAME = "dmodel_test"
# Any UUID works for a local database; wrangler names the state file after a hash of it.
DATABASE_ID = "00000000-0000-4000-8000-00000000d1d1"
TIMEOUT_SECONDS = 120
# wrangler colours its error lines even with NO_COLOR set.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _pinned_version() -> str:
    package = json.loads((REPOSITORY / "package.json").read_text(encoding="utf-8"))
    return package["devDependencies"]["wrangler"]


def wrangler_missing_reason() -> str | None:
    """Return why the local D1 cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH; install Node.js 20 and run 'npm ci'"
    installed = REPOSITORY / "node_modules" / "wrangler" / "package.json"
    if not WRANGLER.exists() or not installed.exists():
        return "wrangler is not installed; run 'npm ci' in the repository (make test does)"
    version = json.loads(installed.read_text(encoding="utf-8"))["version"]
    if version != _pinned_version():
        return f"wrangler {version} is installed but package.json pins {_pinned_version()}; run 'npm ci'"
    return None


requires_wrangler = pytest.mark.skipif(wrangler_missing_reason() is not None,
                                       reason=wrangler_missing_reason() or "")


class WranglerError(AssertionError):
    """A wrangler command failed; the message contains its output."""


class LocalD1:
    """A wrangler project in ``root`` with one local D1 database and its migrations folder."""

    def __init__(self, root: Path, migrations_dir: str = "migrations") -> None:
        self.root = Path(root)
        self.migrations = self.root / migrations_dir
        self.migrations.mkdir(parents=True, exist_ok=True)
        (self.root / "wrangler.toml").write_text(
            'name = "dmodel-test"\n'
            'compatibility_date = "2025-01-01"\n'
            "\n"
            "[[d1_databases]]\n"
            'binding = "DB"\n'
            f'database_name = "{DATABASE_NAME}"\n'
            f'database_id = "{DATABASE_ID}"\n'
            f'migrations_dir = "{migrations_dir}"\n',
            encoding="utf-8",
        )

    def add_migration(self, name: str, sql: str) -> Path:
        path = self.migrations / name
        path.write_text(sql, encoding="utf-8", newline="\n")
        return path

    def apply_migrations(self) -> str:
        """Run ``wrangler d1 migrations apply --local`` and return its output."""
        return self._run("migrations", "apply", DATABASE_NAME, "--local").stdout

    def execute(self, sql: str) -> list[list[dict]]:
        """Run SQL with ``wrangler d1 execute --local --json``; return each statement's rows.

        A failing statement raises ``WranglerError`` with D1's message.
        """
        process = self._run("execute", DATABASE_NAME, "--local", "--json", "--command", sql)
        return [result["results"] for result in json.loads(process.stdout)]

    def execute_file(self, path: Path) -> None:
        """Run a SQL file with ``wrangler d1 execute --local --file``."""
        self._run("execute", DATABASE_NAME, "--local", "--file", str(path))

    def state_file(self) -> Path:
        """Return the SQLite file in which workerd keeps this database."""
        folder = self.root / ".wrangler" / "state" / "v3" / "d1" / "miniflare-D1DatabaseObject"
        files = [path for path in folder.glob("*.sqlite") if path.name != "metadata.sqlite"]
        if len(files) != 1:
            raise WranglerError(f"expected one database file in {folder}, found {len(files)}; "
                                "apply migrations or execute SQL first")
        return files[0]

    def connect_readonly(self) -> sqlite3.Connection:
        """Open the local state file read-only, so tests can inspect it with plain sqlite3."""
        connection = sqlite3.connect(f"{self.state_file().as_uri()}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        return connection

    def query(self, sql: str) -> list[tuple]:
        """Return the rows of one query, read from the state file read-only."""
        connection = self.connect_readonly()
        try:
            return [tuple(row) for row in connection.execute(sql)]
        finally:
            connection.close()

    def _run(self, *arguments: str) -> subprocess.CompletedProcess:
        reason = wrangler_missing_reason()
        if reason:
            pytest.skip(reason)
        process = subprocess.run(
            [str(WRANGLER), "d1", *arguments],
            cwd=self.root, env=self._environment(), capture_output=True, text=True,
            timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
        )
        if process.returncode != 0:
            output = _ANSI_ESCAPE.sub("", f"stdout:\n{process.stdout}\nstderr:\n{process.stderr}")
            raise WranglerError(f"wrangler d1 {' '.join(arguments[:2])} exited {process.returncode}\n{output}")
        return process

    def _environment(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith(("CLOUDFLARE_", "CF_"))}
        environment.update({
            "WRANGLER_SEND_METRICS": "false",  # no telemetry
            "CI": "true",  # never prompt; confirmations take their default
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "WRANGLER_LOG_PATH": str(self.root / ".wrangler-logs"),
            "XDG_CONFIG_HOME": str(self.root / ".config"),
        })
        return environment
