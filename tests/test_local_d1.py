"""Migrations on a local D1 (workerd through wrangler): the rebuild trap, audit triggers, splitting.

Each wrangler call takes a second or two, so every test batches its SQL into
few calls and reads results from the state file where it can.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from wrangler_d1 import REPOSITORY, LocalD1, WranglerError, requires_wrangler

from dmodel.d1client import CREATE_LEDGER
from dmodel.d1rules import lint_sql, split_statements

pytestmark = requires_wrangler

EXAMPLE = REPOSITORY / "fixtures" / "example"

# A parent with an owned child (CASCADE) and an optional reference (SET NULL), holding rows.
PARENT_WITH_CHILDREN = """\
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  total_cents INTEGER NOT NULL
);
CREATE INDEX idx_orders__customer_id ON orders (customer_id);
CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
  body TEXT NOT NULL
);
CREATE INDEX idx_notes__customer_id ON notes (customer_id);
INSERT INTO customers (id, name) VALUES (1, 'Ada'), (2, 'Brook'), (3, 'Cyd');
INSERT INTO orders (id, customer_id, total_cents) VALUES (1, 1, 500), (2, 1, 700), (3, 2, 900), (4, 3, 100), (5, 3, 250);
INSERT INTO notes (id, customer_id, body) VALUES (1, 1, 'vip'), (2, 2, 'late payer'), (3, 3, 'new'), (4, NULL, 'walk-in');
"""

# Adds customers.email and makes customers STRICT, the D1-safe way: the parent and
# every table that references it are rebuilt together.
SAFE_REBUILD = """\
CREATE TABLE __new_customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT
) STRICT;
CREATE TABLE __new_orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES __new_customers (id) ON DELETE CASCADE,
  total_cents INTEGER NOT NULL
);
CREATE TABLE __new_notes (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES __new_customers (id) ON DELETE SET NULL,
  body TEXT NOT NULL
);
INSERT INTO __new_customers (id, name) SELECT id, name FROM customers;
INSERT INTO __new_orders (id, customer_id, total_cents) SELECT id, customer_id, total_cents FROM orders;
INSERT INTO __new_notes (id, customer_id, body) SELECT id, customer_id, body FROM notes;
DROP TABLE notes;
DROP TABLE orders;
DROP TABLE customers;
ALTER TABLE __new_customers RENAME TO customers;
ALTER TABLE __new_orders RENAME TO orders;
ALTER TABLE __new_notes RENAME TO notes;
CREATE INDEX idx_orders__customer_id ON orders (customer_id);
CREATE INDEX idx_notes__customer_id ON notes (customer_id);
"""

# The usual SQLite rebuild, which trusts PRAGMA foreign_keys = OFF.
NAIVE_REBUILD = """\
PRAGMA foreign_keys = OFF;
CREATE TABLE __new_customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT
) STRICT;
INSERT INTO __new_customers (id, name) SELECT id, name FROM customers;
DROP TABLE customers;
ALTER TABLE __new_customers RENAME TO customers;
PRAGMA foreign_keys = ON;
"""

COUNTS = ("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), "
          "(SELECT count(*) FROM notes), (SELECT count(customer_id) FROM notes)")

AUDIT_LOG = """\
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE TRIGGER audit_log_no_update
BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only; insert a correcting row instead');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
INSERT INTO audit_log (actor, action) VALUES ('system', 'created; then -- checked'), ('ops', 'rotated /* key */');
"""


def apply_in_sqlite(path, *migrations: str) -> tuple:
    """Apply migrations the way D1 does (one transaction each, foreign keys on) and return COUNTS."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    for sql in migrations:
        connection.execute("BEGIN")
        for statement in split_statements(sql):
            connection.execute(statement.text)
        connection.execute("COMMIT")
    counts = connection.execute(COUNTS).fetchone()
    connection.close()
    return counts


@pytest.fixture(scope="module")
def audit_d1(tmp_path_factory) -> LocalD1:
    d1 = LocalD1(tmp_path_factory.mktemp("audit"))
    d1.add_migration("0001_audit_log.sql", AUDIT_LOG)
    d1.apply_migrations()
    return d1


def test_safe_rebuild_keeps_every_row(tmp_path):
    d1 = LocalD1(tmp_path / "d1")
    d1.add_migration("0001_init.sql", PARENT_WITH_CHILDREN)
    d1.add_migration("0002_customers_email.sql", SAFE_REBUILD)
    d1.apply_migrations()

    assert d1.query(COUNTS) == [(3, 5, 4, 3)]
    assert d1.query(COUNTS) == [apply_in_sqlite(tmp_path / "same.sqlite", PARENT_WITH_CHILDREN, SAFE_REBUILD)]
    assert d1.query("SELECT name FROM d1_migrations ORDER BY id") == [
        ("0001_init.sql",), ("0002_customers_email.sql",)]


def test_safe_rebuild_keeps_references_and_indexes(tmp_path):
    d1 = LocalD1(tmp_path)
    d1.add_migration("0001_init.sql", PARENT_WITH_CHILDREN)
    d1.add_migration("0002_customers_email.sql", SAFE_REBUILD)
    d1.apply_migrations()

    check, deleted = d1.execute(
        "PRAGMA foreign_key_check; DELETE FROM customers WHERE id = 1;")
    assert check == []
    assert deleted == []
    assert d1.query("SELECT count(*) FROM orders WHERE customer_id = 1") == [(0,)]
    assert d1.query("SELECT customer_id FROM notes WHERE id = 1") == [(None,)]
    assert d1.query("SELECT \"table\" FROM pragma_foreign_key_list('orders')") == [("customers",)]
    assert d1.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name") == [
        ("idx_notes__customer_id",), ("idx_orders__customer_id",)]
    assert d1.query("SELECT strict FROM pragma_table_list('customers')") == [(1,)]


def test_drift_clean_after_safe_rebuild(tmp_path):
    """The rename leaves quoted names in sqlite_master ("orders"); drift must not report them."""
    from dmodel.drift import detect_drift
    from dmodel.introspect import connection_executor

    d1 = LocalD1(tmp_path)
    d1.add_migration("0001_init.sql", PARENT_WITH_CHILDREN)
    d1.add_migration("0002_customers_email.sql", SAFE_REBUILD)
    d1.apply_migrations()

    assert d1.query("SELECT sql LIKE 'CREATE TABLE \"orders\"%' FROM sqlite_master WHERE name = 'orders'") == [(1,)]
    connection = d1.connect_readonly()
    try:
        report = detect_drift(d1.migrations, connection_executor(connection))
    finally:
        connection.close()
    assert report.differences == []
    assert report.pending == []
    assert report.clean


def test_naive_rebuild_loses_cascade_rows(tmp_path):
    """Documents the trap: on D1, PRAGMA foreign_keys = OFF does nothing inside the migration's
    transaction, so DROP TABLE fires the children's ON DELETE actions."""
    d1 = LocalD1(tmp_path)
    d1.add_migration("0001_init.sql", PARENT_WITH_CHILDREN)
    d1.add_migration("0002_customers_email.sql", NAIVE_REBUILD)
    d1.apply_migrations()

    customers, orders, notes, notes_with_customer = d1.query(COUNTS)[0]
    assert customers == 3
    assert orders == 0
    assert notes == 4
    assert notes_with_customer == 0


def test_linter_flags_only_naive_rebuild():
    assert lint_sql(SAFE_REBUILD) == []
    assert lint_sql(PARENT_WITH_CHILDREN) == []
    assert [finding.code for finding in lint_sql(NAIVE_REBUILD)] == ["D1011", "D1011"]


def test_audit_trigger_rejects_update(audit_d1):
    with pytest.raises(WranglerError, match="audit_log is append-only; insert a correcting row"):
        audit_d1.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 1")
    assert audit_d1.query("SELECT actor FROM audit_log ORDER BY id") == [("system",), ("ops",)]


def test_audit_trigger_rejects_delete(audit_d1):
    with pytest.raises(WranglerError, match="audit_log is append-only"):
        audit_d1.execute("DELETE FROM audit_log")
    assert audit_d1.query("SELECT count(*) FROM audit_log") == [(2,)]


def test_trigger_file_with_semicolon_literal_applies(audit_d1):
    assert audit_d1.query("SELECT action FROM audit_log ORDER BY id") == [
        ("created; then -- checked",), ("rotated /* key */",)]
    assert audit_d1.query("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name") == [
        ("audit_log_no_delete",), ("audit_log_no_update",)]
    assert audit_d1.query("SELECT name FROM d1_migrations") == [("0001_audit_log.sql",)]
    assert lint_sql(AUDIT_LOG) == []


def test_ledger_definition_matches_wrangler(audit_d1):
    [(sql,)] = audit_d1.query("SELECT sql FROM sqlite_master WHERE name = 'd1_migrations'")
    assert " ".join(sql.split()) == " ".join(CREATE_LEDGER.replace(" IF NOT EXISTS", "").rstrip(";").split())


def test_audit_trigger_allows_insert(audit_d1):
    inserted, counted = audit_d1.execute(
        "INSERT INTO audit_log (actor, action) VALUES ('ops', 'checked'); SELECT count(*) AS n FROM audit_log;")
    assert inserted == []
    assert counted == [{"n": 3}]


# Statements the linter flags that the local D1 engine rejects too, with part of its message.
REJECTED_ON_D1 = [
    ("D1001", "SAVEPOINT before_change;", "storage.transaction"),
    ("D1002", "CREATE TABLE _cf_notes (a);", "not authorized"),
    ("D1010", "PRAGMA journal_mode;", "not authorized"),
    ("D1012", "ATTACH DATABASE 'other.sqlite' AS other;", "not authorized"),
    ("D1012", "VACUUM;", "VACUUM"),
]


@pytest.mark.parametrize(("code", "sql", "message"), REJECTED_ON_D1, ids=[case[1] for case in REJECTED_ON_D1])
def test_linted_statement_rejected_by_d1(audit_d1, code, sql, message):
    assert code in [finding.code for finding in lint_sql(sql + "\n")]
    with pytest.raises(WranglerError, match=message):
        audit_d1.execute(sql)


def test_failed_migration_is_not_recorded(tmp_path):
    d1 = LocalD1(tmp_path)
    d1.add_migration("0001_init.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);\n")
    d1.add_migration("0002_broken.sql", "INSERT INTO t (id) VALUES (1);\nINSERT INTO missing (id) VALUES (1);\n")
    with pytest.raises(WranglerError, match="no such table: missing"):
        d1.apply_migrations()

    assert d1.query("SELECT name FROM d1_migrations") == [("0001_init.sql",)]
    assert d1.query("SELECT count(*) FROM t") == [(0,)]


def test_example_seed_and_rollback(tmp_path):
    """The bundled example's migration 0001 and seed give the same rows on D1 as in sqlite3, and its
    rollback then empties the database."""
    from dmodel.apply import apply_files

    out = tmp_path / "out"
    for script, source, target in (("design_schema.py", EXAMPLE / "discovery.json", out / "model.json"),
                                   ("generate_sql.py", out / "model.json", out)):
        process = subprocess.run([sys.executable, str(REPOSITORY / "scripts" / script), str(source), "-o", str(target)],
                                 capture_output=True, text=True, timeout=300)
        assert process.returncode == 0, process.stderr
    [migration] = sorted((out / "migrations").glob("0001_*.sql"))
    seed = out / "seed.sql"

    d1 = LocalD1(tmp_path / "d1")
    d1.add_migration(migration.name, migration.read_text(encoding="utf-8"))
    d1.apply_migrations()
    d1.execute_file(seed)

    expected = apply_files(tmp_path / "example.sqlite", [migration, seed])
    assert expected.foreign_key_violations == []
    assert sum(expected.row_counts.values()) > 0
    tables = [name for (name,) in d1.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name")]
    assert tables == sorted(expected.row_counts)
    for table in tables:
        assert d1.query(f'SELECT count(*) FROM "{table}"') == [(expected.row_counts[table],)], table
    assert d1.query("PRAGMA foreign_key_check") == []

    # The rollback drops every table while the seed rows are still there, with foreign keys on.
    d1.execute_file(out / "migrations" / "rollback" / migration.name)
    assert d1.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'index', 'trigger') "
                    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'") == []
