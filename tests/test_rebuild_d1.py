"""Planned rebuilds and their rollbacks on a local D1 (workerd through wrangler), against SQLite.

The rebuild stashes rows in holding tables instead of renaming a new table,
so these tests check on D1 itself what the SQLite tests check in Python:
every row of the CASCADE, SET NULL and NO ACTION children survives, and the
database ends equal to the same files applied by ``sqlite3``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_rebuild_matrix import SEED, base_schema, snapshot
from wrangler_d1 import LocalD1, requires_wrangler

from dmodel.compare import compare
from dmodel.drift import detect_drift
from dmodel.introspect import apply_script, connection_executor, introspect_connection, schema_from_sql
from dmodel.plan import plan_migration

pytestmark = requires_wrangler

TABLES = ("regions", "agents", "customers", "orders", "order_lines", "notes", "audit_log")


def change(action: str) -> str:
    """Return the target: a wider type, a new NOT NULL column with a default and a new UNIQUE on customers."""
    return (base_schema(action)
            .replace("    score INTEGER,\n", "    score REAL,\n    tier TEXT NOT NULL DEFAULT 'basic',\n", 1)
            .replace("    email TEXT,\n", "    email TEXT UNIQUE,\n", 1))


def files(folder: Path, action: str) -> list[tuple[str, str]]:
    """Return the migration files, planned in order: initial schema, seed rows, change, rollback."""
    folder.mkdir(parents=True, exist_ok=True)
    initial = plan_migration(base_schema(action), folder)
    (folder / "0001_initial_schema.sql").write_text(initial.forward_sql())
    (folder / "0002_seed.sql").write_text(SEED)
    migration = plan_migration(change(action), folder)
    assert "RB200" in {operation.code for operation in migration.operations}
    return [("0001_initial_schema.sql", initial.forward_sql()), ("0002_seed.sql", SEED),
            ("0003_rebuild.sql", migration.forward_sql()), ("0004_rollback.sql", migration.rollback_sql())]


def rows(connection: sqlite3.Connection) -> dict:
    every = snapshot(connection)
    return {table: every[table] for table in TABLES}


@pytest.mark.parametrize("action", ["CASCADE", "SET NULL", "NO ACTION"])
def test_rebuild_on_local_d1(tmp_path: Path, action: str) -> None:
    planned = files(tmp_path / "plan", action)
    d1 = LocalD1(tmp_path / "d1")
    reference = sqlite3.connect(":memory:", isolation_level=None)
    reference.execute("PRAGMA foreign_keys = ON")
    for name, sql in planned[:3]:
        d1.add_migration(name, sql)
        apply_script(reference, sql)
    seeded = rows(reference)
    d1.apply_migrations()

    live = d1.connect_readonly()
    try:
        assert rows(live) == rows(reference)
        assert compare(introspect_connection(live), schema_from_sql(change(action))) == []
        assert live.execute("PRAGMA foreign_key_check").fetchall() == []
        report = detect_drift(d1.migrations, connection_executor(live))
        assert report.differences == []
    finally:
        live.close()
    assert {table: count for table, (count, _) in rows(reference).items()} == \
        {table: count for table, (count, _) in seeded.items()}

    d1.add_migration(*planned[3])
    apply_script(reference, planned[3][1])
    d1.apply_migrations()
    live = d1.connect_readonly()
    try:
        assert rows(live) == rows(reference)
        assert compare(introspect_connection(live), schema_from_sql(base_schema(action))) == []
    finally:
        live.close()


def test_autoincrement_counter_kept_on_local_d1(tmp_path: Path) -> None:
    schema = "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT) STRICT;\n"
    folder = tmp_path / "plan"
    folder.mkdir()
    initial = plan_migration(schema, folder)
    (folder / "0001_initial_schema.sql").write_text(initial.forward_sql())
    rebuild = plan_migration(schema.replace("kind TEXT", "kind TEXT NOT NULL DEFAULT 'x'"), folder)

    d1 = LocalD1(tmp_path / "d1")
    d1.add_migration("0001_initial_schema.sql", initial.forward_sql())
    d1.add_migration("0002_seed.sql", "INSERT INTO events (kind) VALUES ('a'), ('b'), ('c');"
                                      "DELETE FROM events WHERE id = 3;")
    d1.add_migration("0003_rebuild.sql", rebuild.forward_sql())
    d1.apply_migrations()
    assert d1.query("SELECT seq FROM sqlite_sequence WHERE name = 'events'") == [(3,)]
    assert d1.query("SELECT id, kind FROM events ORDER BY id") == [(1, "a"), (2, "b")]
