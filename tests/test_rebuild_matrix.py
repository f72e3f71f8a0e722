"""Each kind of schema change, planned and applied as D1 would, on tables that hold rows.

The parent table ``customers`` has children whose foreign keys CASCADE, SET
NULL or take no action, and those children have grandchildren. Every change
runs against each of those parents: every row must survive, the schema must
equal the target, ``foreign_key_check`` must be clean, and the rollback must
bring back the previous schema and rows.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dmodel.compare import compare
from dmodel.errors import InputError
from dmodel.introspect import apply_script, introspect_connection, schema_from_sql
from dmodel.plan import plan_migration

ACTIONS = ["CASCADE", "SET NULL", "NO ACTION"]


def base_schema(action: str, *, customers: str = "customers", email: str = "email") -> str:
    """Return the schema before the change; ``action`` is the ON DELETE of the children of customers."""
    return f"""
CREATE TABLE regions (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;
CREATE TABLE agents (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;
CREATE TABLE {customers} (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    {email} TEXT,
    score INTEGER,
    region_id INTEGER,
    agent_id INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX idx_customers__score ON {customers} (score);
CREATE INDEX idx_customers__agent_id ON {customers} (agent_id);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES {customers} (id) ON DELETE {action},
    total INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_orders__customer_id ON orders (customer_id);
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0)
) STRICT;
CREATE INDEX idx_order_lines__order_id ON order_lines (order_id);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES {customers} (id) ON DELETE {action},
    body TEXT
) STRICT;
CREATE INDEX idx_notes__customer_id ON notes (customer_id);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    action TEXT NOT NULL
) STRICT;
CREATE TRIGGER trg_order_lines__audit AFTER DELETE ON order_lines
    BEGIN INSERT INTO audit_log (entity, entity_id, action) VALUES ('order_lines', OLD.id, 'delete'); END;
CREATE TRIGGER trg_audit_log__no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE VIEW customer_totals AS
    SELECT c.id, c.name, sum(o.total) AS total FROM {customers} AS c LEFT JOIN orders AS o ON o.customer_id = c.id
    GROUP BY c.id;
"""


SEED = """
INSERT INTO regions (id, name) VALUES (1, 'north'), (2, 'south'), (3, 'east');
INSERT INTO agents (id, name) VALUES (1, 'ada'), (2, 'bob'), (3, 'cy');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO customers (id, name, email, score, region_id, agent_id, created_at)
    SELECT i, 'customer ' || i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'c' || i || '@example.com' END,
           i * 7 % 11, i % 3 + 1, i % 3 + 1, '2026-01-0' || (i % 9 + 1) || 'T00:00:00.000Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO orders (id, customer_id, total) SELECT i, i % 20 + 1, i * 100 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80)
INSERT INTO order_lines (id, order_id, sku, quantity) SELECT i, i % 40 + 1, 'sku-' || i, i % 4 + 1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO notes (id, customer_id, body) SELECT i, i, 'note ' || i FROM n;
INSERT INTO audit_log (entity, entity_id, action) VALUES ('customers', 1, 'insert'), ('customers', 2, 'insert');
"""


@dataclass
class Case:
    """A change to the base schema and what the migration must do with it."""

    name: str
    target: callable
    allow_destructive: bool = False
    renames: dict[str, str] = field(default_factory=dict)
    backfill: dict[str, str] = field(default_factory=dict)
    dropped_tables: set[str] = field(default_factory=set)
    changed_columns: set[str] = field(default_factory=set)
    expected_codes: set[str] = field(default_factory=set)


def _replace(old: str, new: str):
    def change(action: str) -> str:
        sql = base_schema(action)
        assert old in sql, old
        return sql.replace(old, new, 1)
    return change


def _change_on_delete(action: str) -> str:
    other = {"CASCADE": "RESTRICT", "SET NULL": "CASCADE", "NO ACTION": "CASCADE"}[action]
    return base_schema(action).replace(f"REFERENCES customers (id) ON DELETE {action},\n    total",
                                       f"REFERENCES customers (id) ON DELETE {other},\n    total", 1)


def _drop_table(action: str) -> str:
    sql = base_schema(action)
    start = sql.index("CREATE TABLE notes")
    end = sql.index("CREATE TABLE audit_log")
    return sql[:start] + sql[end:]


def _drop_indexed_column(action: str) -> str:
    sql = base_schema(action)
    sql = sql.replace("    score INTEGER,\n", "", 1)
    return sql.replace("CREATE INDEX idx_customers__score ON customers (score);\n", "", 1)


CASES = [
    Case("add nullable column", _replace("    score INTEGER,\n", "    score INTEGER,\n    phone TEXT,\n"),
         expected_codes={"MF101"}),
    Case("add NOT NULL with default",
         _replace("    score INTEGER,\n", "    score INTEGER,\n    tier TEXT NOT NULL DEFAULT 'basic',\n"),
         expected_codes={"MF101"}),
    Case("add NOT NULL without default",
         _replace("    score INTEGER,\n", "    score INTEGER,\n    segment TEXT NOT NULL,\n"),
         backfill={"customers.segment": "'unknown'"}, expected_codes={"BC103", "RB200"}),
    Case("change type", _replace("    score INTEGER,\n", "    score REAL,\n"), changed_columns={"score"},
         expected_codes={"RB201", "RB200"}),
    Case("add foreign key",
         _replace("    region_id INTEGER,\n", "    region_id INTEGER REFERENCES regions (id) ON DELETE RESTRICT,\n"),
         expected_codes={"RB207", "RB200"}),
    Case("remove foreign key",
         _replace("    agent_id INTEGER REFERENCES agents (id) ON DELETE SET NULL,\n", "    agent_id INTEGER,\n"),
         expected_codes={"RB208", "RB200"}),
    Case("add unique", _replace("    email TEXT,\n", "    email TEXT UNIQUE,\n"), expected_codes={"RB210", "RB200"}),
    Case("drop indexed column", _drop_indexed_column, allow_destructive=True, changed_columns={"score"},
         expected_codes={"DS103", "RB200"}),
    Case("rename through hint", lambda action: base_schema(action, customers="clients", email="email_address"),
         renames={"customers": "clients", "customers.email": "email_address"}, expected_codes={"MF112", "MF113"}),
    Case("drop table", _drop_table, allow_destructive=True, dropped_tables={"notes"}, expected_codes={"DS102"}),
    Case("change on delete", _change_on_delete, expected_codes={"RB209", "RB200"}),
]

RENAMED = {"clients": "customers"}
RENAMED_COLUMNS = {("customers", "email_address"): "email"}


def _column_types(connection: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in connection.execute(f'PRAGMA table_xinfo("{table}")')}


def snapshot(connection: sqlite3.Connection) -> dict[str, tuple[int, dict[str, str]]]:
    """Return, per table, its row count and a hash of each column's values in primary-key order.

    Renamed tables and columns are reported under their old names, so that a
    snapshot before and after a rename compare equal.
    """
    result = {}
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        count = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        hashes = {}
        for column in _column_types(connection, table):
            values = [row[0] for row in connection.execute(f'SELECT "{column}" FROM "{table}" ORDER BY rowid')]
            old_table = RENAMED.get(table, table)
            name = RENAMED_COLUMNS.get((old_table, column), column)
            hashes[name] = hashlib.sha256(repr(values).encode()).hexdigest()
        result[RENAMED.get(table, table)] = (count, hashes)
    return result


def seeded_database(tmp_path: Path, action: str) -> tuple[sqlite3.Connection, Path]:
    """Return a database holding the base schema and rows, and a migrations folder that produced it."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    initial = plan_migration(base_schema(action), migrations)
    (migrations / "0001_initial_schema.sql").write_text(initial.forward_sql())
    connection = sqlite3.connect(tmp_path / "live.sqlite", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    apply_script(connection, initial.forward_sql())
    apply_script(connection, SEED)
    return connection, migrations


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_change_keeps_rows(tmp_path: Path, case: Case, action: str) -> None:
    connection, migrations = seeded_database(tmp_path, action)
    before_schema = introspect_connection(connection)
    before = snapshot(connection)
    target_sql = case.target(action)

    migration = plan_migration(target_sql, migrations, renames=case.renames,
                               allow_destructive=case.allow_destructive, backfill=case.backfill)
    assert migration.refused == []
    codes = {change.code for change in migration.changes} | {op.code for op in migration.operations}
    assert case.expected_codes <= codes
    apply_script(connection, migration.forward_sql())

    after = snapshot(connection)
    for table, (count, hashes) in before.items():
        if table in case.dropped_tables:
            assert table not in after
            continue
        assert after[table][0] == count, f"{table} row count"
        for column, digest in hashes.items():
            if table == "customers" and column in case.changed_columns:
                continue
            assert after[table][1][column] == digest, f"{table}.{column} values"
    assert compare(introspect_connection(connection), schema_from_sql(target_sql)) == []
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []

    apply_script(connection, migration.rollback_sql())
    assert compare(introspect_connection(connection), before_schema) == []
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    restored = snapshot(connection)
    for table, (count, hashes) in before.items():
        if table in case.dropped_tables:
            assert restored[table][0] == 0
            continue
        assert restored[table][0] == count, f"{table} row count after rollback"
        for column, digest in hashes.items():
            if table == "customers" and column in case.changed_columns and case.allow_destructive:
                continue
            assert restored[table][1][column] == digest, f"{table}.{column} values after rollback"


def test_cascade_child_outside_group_loses_rows_without_it(tmp_path: Path) -> None:
    """The plain recipe (copy, drop, rename) empties a CASCADE child; the planned rebuild does not."""
    connection, _ = seeded_database(tmp_path, "CASCADE")
    connection.execute("BEGIN")
    connection.execute("PRAGMA defer_foreign_keys = on")
    connection.execute("CREATE TABLE new_customers AS SELECT * FROM customers")
    connection.execute("DROP TABLE customers")
    assert connection.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    connection.execute("ROLLBACK")


def test_refuses_not_null_without_default(tmp_path: Path) -> None:
    _, migrations = seeded_database(tmp_path, "CASCADE")
    target = base_schema("CASCADE").replace("    score INTEGER,\n", "    score INTEGER,\n    segment TEXT NOT NULL,\n")
    migration = plan_migration(target, migrations)
    assert [op.code for op in migration.refused] == ["BC103"]
    assert "backfill" in migration.refused[0].proposal
    statements = "\n".join(statement for op in migration.operations for statement in op.forward)
    assert "segment" not in statements


@pytest.mark.parametrize("code, target", [
    ("DS102", _drop_table("CASCADE")),
    ("DS103", _drop_indexed_column("CASCADE")),
    ("BC101", base_schema("CASCADE").replace("    score INTEGER,\n", "    score TEXT NOT NULL DEFAULT '',\n")
     .replace("    email TEXT,\n", "    email INTEGER,\n")),
])
def test_refuses_destructive_change(tmp_path: Path, code: str, target: str) -> None:
    _, migrations = seeded_database(tmp_path, "CASCADE")
    migration = plan_migration(target, migrations)
    assert code in {op.code for op in migration.refused}
    assert all(op.proposal for op in migration.refused)
    assert all(op.safety.value in ("compatible", "needs-rebuild") for op in migration.operations)


def test_not_null_with_nulls_fails_whole_migration(tmp_path: Path) -> None:
    connection, migrations = seeded_database(tmp_path, "CASCADE")
    target = base_schema("CASCADE").replace("    email TEXT,\n", "    email TEXT NOT NULL,\n")
    migration = plan_migration(target, migrations, allow_destructive=True)
    before = snapshot(connection)
    with pytest.raises(InputError, match="NOT NULL"):
        apply_script(connection, migration.forward_sql())
    assert snapshot(connection) == before
