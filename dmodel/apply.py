"""Apply SQL files to a SQLite database the way D1 runs them.

Each file runs inside one transaction with foreign keys on, as D1 runs a
migration, so ``PRAGMA foreign_keys = OFF`` in a file has no effect here
either. After the files, ``PRAGMA foreign_key_check`` must come back empty.

Migration files (``NNNN_name.sql``) are recorded in ``d1_migrations`` in the
same transaction, as wrangler records them, and skipped when already
recorded; applying ``rollback/NNNN_name.sql`` removes that record. So drift
checks and later migrations see a local database as they see a D1.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from dmodel.conventions import quote_string
from dmodel.d1client import CREATE_LEDGER, LEDGER_TABLE
from dmodel.errors import InputError


MIGRATION_NAME = re.compile(r"\d+_.+\.sql\Z")


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    foreign_key_violations: list[tuple] = field(default_factory=list)


def connect(database: Path | str) -> sqlite3.Connection:
    """Open a SQLite database in autocommit mode with foreign keys enforced."""
    connection = sqlite3.connect(str(database), isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def apply_sql(connection: sqlite3.Connection, sql: str, file: str = "<sql>", ledger_sql: str = "") -> None:
    """Run ``sql`` (then ``ledger_sql``) in one transaction; on error roll back and raise an InputError."""
    try:
        connection.executescript("BEGIN;\n" + sql + "\n" + ledger_sql + "\nCOMMIT;")
    except sqlite3.Error as error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        fix = "nothing from this file was applied; correct the SQL the error points at"
        if "UNIQUE constraint failed" in str(error) or "PRIMARY KEY" in str(error):
            fix += ", or start from a fresh database if these rows are already there (a seed applied twice)"
        raise InputError(f"SQLite rejected the file: {error}", file=file, fix=fix) from None


def _ledger_sql(connection: sqlite3.Connection, path: Path) -> str | None:
    """Return the SQL that records ``path`` in d1_migrations ('' for other files), or None when already applied."""
    if not MIGRATION_NAME.match(path.name):
        return ""
    name = quote_string(path.name)
    if path.parent.name == "rollback":
        return f"DELETE FROM {LEDGER_TABLE} WHERE name = {name};" if _has_ledger(connection) else ""
    if _has_ledger(connection) and connection.execute(
            f"SELECT 1 FROM {LEDGER_TABLE} WHERE name = ?", (path.name,)).fetchone():
        return None
    return f"{CREATE_LEDGER}\nINSERT INTO {LEDGER_TABLE} (name) VALUES ({name});"


def _has_ledger(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (LEDGER_TABLE,)).fetchone() is not None


def user_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name != 'd1_migrations' ORDER BY name").fetchall()
    return [row[0] for row in rows]


def apply_files(database: Path | str, files: list[Path]) -> ApplyResult:
    """Apply ``files`` in order to ``database``, then check foreign keys and count rows."""
    result = ApplyResult()
    for path in files:
        if not path.is_file():
            raise InputError("file not found", file=str(path), fix="check the path; a shell glob that matched "
                             "nothing is passed through as written")
    connection = connect(database)
    try:
        for path in files:
            ledger_sql = _ledger_sql(connection, path)
            if ledger_sql is None:
                result.skipped.append(str(path))
                continue
            apply_sql(connection, path.read_text(encoding="utf-8"), str(path), ledger_sql)
            result.applied.append(str(path))
        result.foreign_key_violations = [tuple(row) for row in connection.execute("PRAGMA foreign_key_check")]
        for table in user_tables(connection):
            quoted = '"' + table.replace('"', '""') + '"'
            result.row_counts[table] = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
    finally:
        connection.close()
    return result
