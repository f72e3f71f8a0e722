"""Rebuilds keep everything but the intended change: triggers, indexes, options, rowids, actions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dmodel.compare import compare
from dmodel.introspect import apply_script, introspect_connection, normalize_sql, schema_from_sql
from dmodel.plan import plan_migration
from dmodel.rebuild import rebuild_group


def prepare(tmp_path: Path, schema: str, seed: str) -> tuple[sqlite3.Connection, Path]:
    """Return a seeded database and the migrations folder that created its schema."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    initial = plan_migration(schema, migrations)
    (migrations / "0001_initial_schema.sql").write_text(initial.forward_sql())
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    apply_script(connection, initial.forward_sql())
    apply_script(connection, seed)
    return connection, migrations


def rows(connection: sqlite3.Connection, sql: str) -> list[tuple]:
    return connection.execute(sql).fetchall()


FEATURES = """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value ANY,
    scope TEXT NOT NULL DEFAULT 'global' CHECK (scope IN ('global', 'team')),
    size INTEGER GENERATED ALWAYS AS (length(value)) STORED
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_settings__team ON settings (scope, key) WHERE scope = 'team';
CREATE INDEX idx_settings__lower_key ON settings (lower(key));
CREATE TABLE settings_history (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value ANY) STRICT;
CREATE TRIGGER trg_settings__history AFTER UPDATE OF value ON settings
    BEGIN INSERT INTO settings_history (key, value) VALUES (OLD.key, OLD.value); END;
CREATE TRIGGER trg_settings__no_delete BEFORE DELETE ON settings
    BEGIN SELECT RAISE(ABORT, 'settings are never deleted'); END;
CREATE VIEW team_settings AS SELECT key, value FROM settings WHERE scope = 'team';
"""
FEATURES_SEED = """
INSERT INTO settings (key, value, scope) VALUES ('a', 1, 'global'), ('b', 'two', 'team'), ('c', x'03', 'team'),
    ('d', 4.5, 'global');
"""


def test_features_survive_rebuild(tmp_path: Path) -> None:
    connection, migrations = prepare(tmp_path, FEATURES, FEATURES_SEED)
    before = rows(connection, "SELECT key, value, typeof(value), scope, size FROM settings ORDER BY key")
    target = FEATURES.replace("scope TEXT NOT NULL DEFAULT 'global' CHECK (scope IN ('global', 'team')),",
                              "scope TEXT NOT NULL DEFAULT 'global' CHECK (scope IN ('global', 'team', 'user')),")
    migration = plan_migration(target, migrations)
    assert [op.code for op in migration.operations] == ["RB200"]
    apply_script(connection, migration.forward_sql())

    actual, expected = introspect_connection(connection), schema_from_sql(target)
    assert compare(actual, expected) == []
    assert actual.tables["settings"].without_rowid
    assert actual.tables["settings"].strict
    assert actual.indexes["idx_settings__team"].where == "scope = 'team'"
    assert set(actual.triggers) == {"trg_settings__history", "trg_settings__no_delete"}
    assert rows(connection, "SELECT key, value, typeof(value), scope, size FROM settings ORDER BY key") == before
    assert rows(connection, "SELECT count(*) FROM settings_history") == [(0,)]

    connection.execute("UPDATE settings SET value = 9 WHERE key = 'a'")
    assert rows(connection, "SELECT key, value FROM settings_history") == [("a", 1)]
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        connection.execute("DELETE FROM settings WHERE key = 'b'")
    connection.execute("INSERT INTO settings (key, scope) VALUES ('e', 'user')")


EMPLOYEES = """
CREATE TABLE employees (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    manager_id INTEGER REFERENCES employees (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX idx_employees__manager_id ON employees (manager_id);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    score INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_reviews__employee_id ON reviews (employee_id);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, review_id INTEGER REFERENCES reviews (id) ON DELETE CASCADE,
    action TEXT NOT NULL) STRICT;
CREATE TRIGGER trg_audit_log__append_only BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER trg_reviews__audit AFTER INSERT ON reviews
    BEGIN INSERT INTO audit_log (review_id, action) VALUES (NEW.id, 'created'); END;
"""
EMPLOYEES_SEED = """
INSERT INTO employees (id, name, manager_id) VALUES (1, 'boss', NULL), (2, 'ann', 1), (3, 'ben', 2), (4, 'cid', 2);
INSERT INTO reviews (id, employee_id, score) VALUES (1, 2, 4), (2, 3, 5), (3, 4, 3);
"""


def test_self_reference_and_append_only_grandchild(tmp_path: Path) -> None:
    connection, migrations = prepare(tmp_path, EMPLOYEES, EMPLOYEES_SEED)
    target = EMPLOYEES.replace("name TEXT NOT NULL,\n    manager_id", "name TEXT NOT NULL UNIQUE,\n    manager_id")
    migration = plan_migration(target, migrations)
    rebuild = migration.operations[0]
    assert rebuild.code == "RB200"
    assert "audit_log" in rebuild.reason
    apply_script(connection, migration.forward_sql())

    assert rows(connection, "SELECT count(*) FROM employees") == [(4,)]
    assert rows(connection, "SELECT count(*) FROM reviews") == [(3,)]
    assert rows(connection, "SELECT count(*) FROM audit_log") == [(3,)]
    assert compare(introspect_connection(connection), schema_from_sql(target)) == []
    connection.execute("INSERT INTO employees (id, name, manager_id) VALUES (5, 'dee', 3), (6, 'eve', 5)")
    connection.execute("DELETE FROM employees WHERE id = 5")
    assert rows(connection, "SELECT count(*) FROM employees WHERE id IN (5, 6)") == [(0,)]

    apply_script(connection, migration.rollback_sql())
    assert compare(introspect_connection(connection), schema_from_sql(EMPLOYEES)) == []
    assert rows(connection, "SELECT count(*) FROM audit_log") == [(3,)]


def test_cascade_still_fires_after_rebuild(tmp_path: Path) -> None:
    connection, migrations = prepare(tmp_path, EMPLOYEES.replace(
        "CREATE TRIGGER trg_audit_log__append_only BEFORE DELETE ON audit_log\n"
        "    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;\n", ""), EMPLOYEES_SEED)
    target = (EMPLOYEES.replace("CREATE TRIGGER trg_audit_log__append_only BEFORE DELETE ON audit_log\n"
                                "    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;\n", "")
              .replace("score INTEGER NOT NULL", "score REAL NOT NULL"))
    apply_script(connection, plan_migration(target, migrations).forward_sql())
    connection.execute("DELETE FROM employees WHERE id = 2")
    assert rows(connection, "SELECT id FROM employees ORDER BY id") == [(1,)]
    assert rows(connection, "SELECT count(*) FROM reviews") == [(0,)]
    assert rows(connection, "SELECT count(*) FROM audit_log") == [(0,)]


CYCLE = """
CREATE TABLE teams (id INTEGER PRIMARY KEY, lead_id INTEGER REFERENCES people (id) ON DELETE SET NULL, name TEXT) STRICT;
CREATE TABLE people (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams (id) ON DELETE CASCADE, name TEXT) STRICT;
CREATE VIEW team_sizes AS SELECT t.name, count(p.id) AS size FROM teams AS t LEFT JOIN people AS p ON p.team_id = t.id
    GROUP BY t.id;
CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL) STRICT;
CREATE TRIGGER trg_events__people AFTER INSERT ON events WHEN NEW.kind = 'hire'
    BEGIN INSERT INTO people (team_id, name) VALUES (NULL, 'new hire'); END;
"""
CYCLE_SEED = """
INSERT INTO teams (id, lead_id, name) VALUES (1, NULL, 'core'), (2, NULL, 'edge');
INSERT INTO people (id, team_id, name) VALUES (1, 1, 'ann'), (2, 1, 'ben'), (3, 2, 'cy');
UPDATE teams SET lead_id = 1 WHERE id = 1;
UPDATE teams SET lead_id = 3 WHERE id = 2;
"""


def test_foreign_key_cycle_keeps_rows(tmp_path: Path) -> None:
    connection, migrations = prepare(tmp_path, CYCLE, CYCLE_SEED)
    target = CYCLE.replace(", name TEXT) STRICT;\nCREATE TABLE people", ", name TEXT NOT NULL DEFAULT '') STRICT;\n"
                                                                        "CREATE TABLE people")
    before = rows(connection, "SELECT * FROM teams ORDER BY id") + rows(connection, "SELECT * FROM people ORDER BY id")
    migration = plan_migration(target, migrations)
    assert [op.code for op in migration.operations] == ["RB200"]
    apply_script(connection, migration.forward_sql())
    after = rows(connection, "SELECT * FROM teams ORDER BY id") + rows(connection, "SELECT * FROM people ORDER BY id")
    assert after == before
    assert rows(connection, "SELECT * FROM team_sizes ORDER BY name") == [("core", 2), ("edge", 1)]
    assert compare(introspect_connection(connection), schema_from_sql(target)) == []
    connection.execute("INSERT INTO events (kind) VALUES ('hire')")
    assert rows(connection, "SELECT count(*) FROM people") == [(4,)]


def test_rowids_kept_without_alias(tmp_path: Path) -> None:
    schema = "CREATE TABLE tags (label TEXT NOT NULL, weight INTEGER) STRICT;\n"
    connection, migrations = prepare(tmp_path, schema, "INSERT INTO tags VALUES ('a', 1), ('b', 2), ('c', 3);"
                                                       "DELETE FROM tags WHERE label = 'b';")
    migration = plan_migration(schema.replace("weight INTEGER", "weight REAL"), migrations)
    apply_script(connection, migration.forward_sql())
    assert rows(connection, "SELECT rowid, label, weight FROM tags ORDER BY rowid") == [(1, "a", 1.0), (3, "c", 3.0)]


def test_refused_child_rebuilt_unchanged(tmp_path: Path) -> None:
    """A CASCADE child whose own drop is refused is carried through its parent's rebuild as it is."""
    schema = ("CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT) STRICT;\n"
              "CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) "
              "ON DELETE CASCADE, nickname TEXT, age INTEGER) STRICT;\n")
    connection, migrations = prepare(tmp_path, schema, "INSERT INTO parents VALUES (1, 'p');"
                                                       "INSERT INTO kids VALUES (1, 1, 'k', 3), (2, 1, 'l', 4);")
    target = schema.replace("name TEXT)", "name TEXT NOT NULL DEFAULT '')").replace(", nickname TEXT", "")
    migration = plan_migration(target, migrations)
    assert [op.code for op in migration.refused] == ["DS103"]
    apply_script(connection, migration.forward_sql())
    assert rows(connection, "SELECT id, parent_id, nickname, age FROM kids ORDER BY id") == [(1, 1, "k", 3), (2, 1, "l", 4)]
    remaining = compare(introspect_connection(connection), schema_from_sql(target))
    assert [change.code for change in remaining] == ["DS103"]


def test_group_follows_row_changing_actions() -> None:
    schema = schema_from_sql("""
        CREATE TABLE a (id INTEGER PRIMARY KEY);
        CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a ON DELETE CASCADE);
        CREATE TABLE c (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b ON DELETE SET NULL);
        CREATE TABLE d (id INTEGER PRIMARY KEY, c_id INTEGER REFERENCES c ON DELETE SET DEFAULT);
        CREATE TABLE e (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a ON DELETE RESTRICT);
        CREATE TABLE f (id INTEGER PRIMARY KEY, e_id INTEGER REFERENCES e ON DELETE CASCADE);
    """)
    assert rebuild_group({"a"}, [schema]) == {"a", "b", "c", "d"}
    assert rebuild_group({"e"}, [schema]) == {"e", "f"}


def test_expression_defaults_compare_equal() -> None:
    assert normalize_sql("(strftime('%Y', 'now'))") == normalize_sql("strftime('%Y','now')")


RENAMED = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER) STRICT;
CREATE TABLE deals (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    amount INTEGER NOT NULL) STRICT;
CREATE INDEX idx_accounts__score ON accounts (score);
CREATE VIEW rich_accounts AS SELECT name, score FROM accounts WHERE score > 5;
CREATE TRIGGER trg_accounts__name BEFORE UPDATE OF name ON accounts WHEN NEW.name = ''
    BEGIN SELECT RAISE(ABORT, 'name must not be empty'); END;
"""
RENAMED_SEED = """
INSERT INTO accounts (id, name, score) VALUES (1, 'a', 3), (2, 'b', 9);
INSERT INTO deals (id, account_id, amount) VALUES (1, 1, 10), (2, 2, 20), (3, 2, 30);
"""


def test_rename_and_rebuild_together(tmp_path: Path) -> None:
    connection, migrations = prepare(tmp_path, RENAMED, RENAMED_SEED)
    target = (RENAMED.replace("accounts", "clients").replace("score", "rating")
              .replace("rating INTEGER) STRICT", "rating REAL) STRICT"))
    migration = plan_migration(target, migrations, renames={"accounts": "clients", "accounts.score": "rating"})
    assert [op.code for op in migration.operations if op.code in ("MF112", "MF113", "RB200")] == [
        "MF112", "MF113", "RB200"]
    apply_script(connection, migration.forward_sql())

    assert compare(introspect_connection(connection), schema_from_sql(target)) == []
    assert rows(connection, "SELECT id, name, rating FROM clients ORDER BY id") == [(1, "a", 3.0), (2, "b", 9.0)]
    assert rows(connection, "SELECT count(*) FROM deals") == [(3,)]
    assert rows(connection, "SELECT name FROM rich_clients") == [("b",)]
    with pytest.raises(sqlite3.IntegrityError, match="must not be empty"):
        connection.execute("UPDATE clients SET name = '' WHERE id = 1")

    apply_script(connection, migration.rollback_sql())
    assert compare(introspect_connection(connection), schema_from_sql(RENAMED)) == []
    assert rows(connection, "SELECT id, name, score FROM accounts ORDER BY id") == [(1, "a", 3), (2, "b", 9)]
    assert rows(connection, "SELECT count(*) FROM deals") == [(3,)]


def test_drop_column_used_by_view(tmp_path: Path) -> None:
    schema = RENAMED.replace("CREATE INDEX idx_accounts__score ON accounts (score);\n", "")
    connection, migrations = prepare(tmp_path, schema, RENAMED_SEED)
    target = (schema.replace(", score INTEGER) STRICT", ") STRICT")
              .replace("SELECT name, score FROM accounts WHERE score > 5", "SELECT name FROM accounts"))
    migration = plan_migration(target, migrations, allow_destructive=True)
    assert "ALTER TABLE accounts DROP COLUMN score;" in migration.forward_sql()
    apply_script(connection, migration.forward_sql())
    assert compare(introspect_connection(connection), schema_from_sql(target)) == []
    assert rows(connection, "SELECT name FROM rich_accounts ORDER BY name") == [("a",), ("b",)]
    apply_script(connection, migration.rollback_sql())
    assert compare(introspect_connection(connection), schema_from_sql(schema)) == []


def test_rollback_refills_dropped_not_null(tmp_path: Path) -> None:
    connection, migrations = prepare(tmp_path, RENAMED, RENAMED_SEED)
    target = RENAMED.replace("name TEXT NOT NULL, ", "").replace("SELECT name, score", "SELECT score").replace(
        "CREATE TRIGGER trg_accounts__name BEFORE UPDATE OF name ON accounts WHEN NEW.name = ''\n"
        "    BEGIN SELECT RAISE(ABORT, 'name must not be empty'); END;\n", "")
    migration = plan_migration(target, migrations, allow_destructive=True)
    assert "RB200" in {op.code for op in migration.operations}
    assert "-- NOTE: restores accounts.name without the values the migration dropped" in migration.rollback_sql()
    apply_script(connection, migration.forward_sql())
    apply_script(connection, migration.rollback_sql())
    assert compare(introspect_connection(connection), schema_from_sql(RENAMED)) == []
    assert rows(connection, "SELECT id, name, score FROM accounts ORDER BY id") == [(1, "", 3), (2, "", 9)]
    assert rows(connection, "SELECT count(*) FROM deals") == [(3,)]


def test_refused_child_follows_renamed_parent(tmp_path: Path) -> None:
    """A CASCADE child carried unchanged through a rebuild keeps referencing its parent's new name."""
    schema = ("CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT) STRICT;\n"
              "CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) "
              "ON DELETE CASCADE, nickname TEXT) STRICT;\n")
    connection, migrations = prepare(tmp_path, schema, "INSERT INTO parents VALUES (1, 'p');"
                                                       "INSERT INTO kids VALUES (1, 1, 'k');")
    target = ("CREATE TABLE families (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '') STRICT;\n"
              "CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES families (id) "
              "ON DELETE CASCADE) STRICT;\n")
    migration = plan_migration(target, migrations, renames={"parents": "families"})
    assert [op.code for op in migration.refused] == ["DS103"]
    apply_script(connection, migration.forward_sql())
    assert rows(connection, "SELECT \"table\" FROM pragma_foreign_key_list('kids')") == [("families",)]
    assert rows(connection, "SELECT id, parent_id, nickname FROM kids") == [(1, 1, "k")]
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
