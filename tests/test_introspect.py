"""Introspection through ``execute(sql) -> list[dict]``: what a live schema contains."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from dmodel.errors import InputError
from dmodel.introspect import (
    connection_executor, introspect, introspect_connection, introspect_file, normalize_sql, replay,
    schema_from_sql, split_statements,
)

SCHEMA = """
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    "Display Name" TEXT NOT NULL COLLATE NOCASE CHECK (length("Display Name") > 0),
    email TEXT UNIQUE,
    region TEXT NOT NULL DEFAULT 'eu',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    name_length INTEGER GENERATED ALWAYS AS (length("Display Name")) VIRTUAL,
    UNIQUE (region, email)
) STRICT;
CREATE TABLE settings (key TEXT PRIMARY KEY, value ANY) STRICT, WITHOUT ROWID;
CREATE TABLE memberships (
    account_id INTEGER NOT NULL REFERENCES accounts ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    team TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'owner')),
    PRIMARY KEY (account_id, team),
    CONSTRAINT fk_settings FOREIGN KEY (team) REFERENCES settings (key) ON UPDATE CASCADE ON DELETE SET NULL,
    CHECK (team <> '')
);
CREATE INDEX idx_accounts__lower_email ON accounts (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX uq_memberships__owner ON memberships (team) WHERE role = 'owner';
CREATE VIEW owners AS SELECT account_id, team FROM memberships WHERE role = 'owner';
CREATE TRIGGER trg_settings__guard BEFORE DELETE ON settings
    BEGIN SELECT RAISE(ABORT, 'settings are kept; set value to NULL instead'); END;
CREATE VIRTUAL TABLE notes_search USING fts5(body);
"""


@pytest.fixture(scope="module")
def schema():
    return schema_from_sql(SCHEMA)


def test_table_options(schema) -> None:
    assert schema.tables["accounts"].strict
    assert not schema.tables["accounts"].without_rowid
    assert schema.tables["accounts"].autoincrement
    assert schema.tables["settings"].without_rowid
    assert schema.tables["settings"].strict
    assert not schema.tables["memberships"].strict


def test_columns(schema) -> None:
    accounts = schema.tables["accounts"]
    assert [column.name for column in accounts.columns] == [
        "id", "Display Name", "email", "region", "created_at", "name_length"]
    assert accounts.column("display name").not_null
    assert accounts.column("Display Name").collation == "NOCASE"
    assert accounts.column("region").default == "'eu'"
    assert normalize_sql(accounts.column("created_at").default) == "strftime ( '%Y-%m-%dT%H:%M:%fZ' , 'now' )"
    assert accounts.column("id").primary_key == 1
    assert accounts.column("id").type == "INTEGER"
    assert accounts.rowid_alias


def test_generated_column(schema) -> None:
    column = schema.tables["accounts"].column("name_length")
    assert column.is_generated
    assert column.hidden == 2
    assert normalize_sql(column.generated) == "length ( \"display name\" )"
    assert column not in schema.tables["accounts"].stored_columns


def test_checks(schema) -> None:
    assert schema.tables["accounts"].column("Display Name").checks == ['length("Display Name") > 0']
    assert schema.tables["memberships"].checks == ["team <> ''"]
    assert schema.tables["memberships"].column("role").checks == ["role IN ('member', 'owner')"]


def test_keys(schema) -> None:
    memberships = schema.tables["memberships"]
    assert memberships.primary_key == ("account_id", "team")
    assert schema.tables["settings"].primary_key == ("key",)
    assert sorted(schema.tables["accounts"].uniques) == [("email",), ("region", "email")]


def test_foreign_keys(schema) -> None:
    keys = {key.columns: key for key in schema.tables["memberships"].foreign_keys}
    assert keys[("account_id",)].ref_table == "accounts"
    assert keys[("account_id",)].ref_columns == ()
    assert keys[("account_id",)].on_delete == "CASCADE"
    assert keys[("account_id",)].deferred
    assert keys[("team",)].ref_columns == ("key",)
    assert keys[("team",)].on_delete == "SET NULL"
    assert keys[("team",)].on_update == "CASCADE"
    assert not keys[("team",)].deferred


def test_indexes(schema) -> None:
    expression = schema.indexes["idx_accounts__lower_email"]
    assert expression.table == "accounts"
    assert expression.terms == ("lower ( email )",)
    assert expression.where == "email is not null"
    assert not expression.unique
    partial = schema.indexes["uq_memberships__owner"]
    assert partial.unique
    assert partial.where == "role = 'owner'"
    assert not any(name.startswith("sqlite_autoindex") for name in schema.indexes)


def test_views_triggers_virtual(schema) -> None:
    assert list(schema.views) == ["owners"]
    assert schema.triggers["trg_settings__guard"].table == "settings"
    assert schema.tables["notes_search"].virtual
    assert not any(name.startswith("notes_search_") for name in schema.tables)


def test_platform_tables_skipped() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript("""
        CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE);
        CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
        CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT);
    """)
    assert list(introspect_connection(connection).tables) == ["things"]


class RemoteLike:
    """An ``execute`` that rejects what remote D1 rejects and records every statement."""

    def __init__(self, connection: sqlite3.Connection, *, table_list: bool = True) -> None:
        self.execute_rows = connection_executor(connection)
        self.table_list = table_list
        self.statements: list[str] = []

    def __call__(self, sql: str) -> list[dict]:
        self.statements.append(sql)
        if re.search(r"pragma_\w+\s*\(", sql, re.I):
            raise RuntimeError("not authorized: table-valued pragma function")
        if not self.table_list and sql.strip().upper() == "PRAGMA TABLE_LIST":
            raise RuntimeError("near \"table_list\": syntax error")
        return self.execute_rows(sql)


def test_plain_pragmas_only() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    remote = RemoteLike(connection)
    assert introspect(remote) == schema_from_sql(SCHEMA)
    assert all(statement.startswith(("PRAGMA ", "SELECT type, name")) for statement in remote.statements)


def test_without_table_list_parses_sql() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    old = introspect(RemoteLike(connection, table_list=False))
    assert old.tables["settings"].without_rowid
    assert old.tables["accounts"].strict
    assert sorted(old.tables) == sorted(schema_from_sql(SCHEMA).tables)


def test_file_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA)
    connection.close()
    before = path.read_bytes()
    assert set(introspect_file(path).tables) == {"accounts", "settings", "memberships", "notes_search"}
    assert path.read_bytes() == before


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        introspect_file(tmp_path / "nope.sqlite")


def test_replay_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "0002_b.sql").write_text("ALTER TABLE things ADD COLUMN label TEXT;\n")
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE things (id INTEGER PRIMARY KEY);\n")
    (tmp_path / "notes.txt").write_text("DROP TABLE things;\n")
    (tmp_path / "rollback").mkdir()
    (tmp_path / "rollback" / "0002_b.sql").write_text("ALTER TABLE things DROP COLUMN label;\n")
    connection = replay(tmp_path)
    assert [column.name for column in introspect_connection(connection).tables["things"].columns] == ["id", "label"]
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_replay_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE things (id INTEGER PRIMARY KEY);\n\nINSERT INTO nope VALUES (1);\n")
    with pytest.raises(InputError) as raised:
        replay(tmp_path)
    assert raised.value.file.endswith("0001_a.sql")
    assert raised.value.place == "line 3"
    assert "no such table: nope" in raised.value.message


def test_split_keeps_trigger_bodies() -> None:
    sql = ("CREATE TRIGGER t AFTER INSERT ON x BEGIN INSERT INTO y VALUES (';'); DELETE FROM z; END;\n"
           "-- a comment; with a semicolon\nINSERT INTO y VALUES ('a;b');")
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].endswith("END;")
    assert statements[1].endswith("('a;b');")


@pytest.mark.parametrize("left, right", [
    ("(0)", "0"),
    ('"Orders"', "orders"),
    ("lower( email )", "LOWER(email)"),
    ("((a > 0))", "a > 0"),
])
def test_normalize_equal(left: str, right: str) -> None:
    assert normalize_sql(left) == normalize_sql(right)


@pytest.mark.parametrize("left, right", [
    ("'A'", "'a'"),
    ("(a + b) * c", "a + b * c"),
    ('"order"', "orders"),
])
def test_normalize_different(left: str, right: str) -> None:
    assert normalize_sql(left) != normalize_sql(right)
