"""Apply SQL files to a SQLite database the way D1 runs them.

Each file runs inside one transaction with foreign keys on, as D1 runs a
migration, so ``PRAGMA foreign_keys = OFF`` in a file has no effect here
either. After the files, ``PRAGMA foreign_key_check`` must come back empty.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from dmodel.errors import InputError


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    foreign_key_violations: list[tuple] = field(default_factory=list)


def connect(database: Path | str) -> sqlite3.Connection:
    """Open a SQLite database in autocommit mode with foreign keys enforced."""
    connection = sqlite3.connect(str(database), isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def apply_sql(connection: sqlite3.Connection, sql: str, file: str = "<sql>") -> None:
    """Run ``sql`` in one transaction; on error roll back and raise an InputError naming the file."""
    try:
        connection.executescript("BEGIN;\n" + sql + "\nCOMMIT;")
    except sqlite3.Error as error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise InputError(f"SQLite rejected the file: {error}", file=file,
                         fix="fix the statement named in the error; nothing from this file was applied") from None


def user_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name").fetchall()
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
            apply_sql(connection, path.read_text(encoding="utf-8"), str(path))
            result.applied.append(str(path))
        result.foreign_key_violations = [tuple(row) for row in connection.execute("PRAGMA foreign_key_check")]
        for table in user_tables(connection):
            quoted = '"' + table.replace('"', '""') + '"'
            result.row_counts[table] = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
    finally:
        connection.close()
    return result
