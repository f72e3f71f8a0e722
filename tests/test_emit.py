"""SQL, seed and ERD emitters on models with hostile names and values, applied to real SQLite."""

from __future__ import annotations

import re
import sqlite3

import pytest

from dmodel.apply import apply_sql, connect
from dmodel.emit.mermaid import render_erd
from dmodel.emit.seed import MAX_STATEMENT_BYTES, render_seed
from dmodel.emit.sql import render_schema
from dmodel.generate import initial_migration
from dmodel.model import Column, Entity, ForeignKey, Model, SeedTable

HOSTILE_VALUES = ["O'Malley's", "back\\slash", "two\nlines", "tab\there", "Bäckerei Müller", "🚀 launch",
                  "quote \" inside", "semi; colon", "-- not a comment", "", "  padded  ", "NULL", "日本語"]


def hostile_model() -> Model:
    group = Entity(name="group", columns=[
        Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
        Column(name="from", sqlite_type="TEXT"),
        Column(name="line items", sqlite_type="TEXT"),
    ], primary_key=["id"])
    order = Entity(name="order", columns=[
        Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
        Column(name="group_id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
        Column(name="größe", sqlite_type="TEXT"),
        Column(name='say "hi"', sqlite_type="TEXT"),
        Column(name="parent_id", logical_type="integer", sqlite_type="INTEGER"),
        Column(name="email", logical_type="email", sqlite_type="TEXT", pii="email", unique=True),
    ], primary_key=["id"], foreign_keys=[
        ForeignKey(columns=["group_id"], ref_table="group", ref_columns=["id"], on_delete="CASCADE"),
        ForeignKey(columns=["parent_id"], ref_table="order", ref_columns=["id"], on_delete="SET NULL"),
    ])
    rows = [[index + 1, 1, value, value, None if index == 0 else index, f"person{index}@real.example"]
            for index, value in enumerate(HOSTILE_VALUES)]
    # The first row references a row inserted after it, so the seed must order or defer.
    rows[0][4] = len(rows)
    return Model(name="hostile", entities=[group, order], seed={
        "group": SeedTable(columns=["id", "from", "line items"], rows=[[1, "select", "x"]]),
        "order": SeedTable(columns=["id", "group_id", "größe", 'say "hi"', "parent_id", "email"], rows=rows),
    })


def apply_model(model: Model, mask: bool = True) -> sqlite3.Connection:
    connection = connect(":memory:")
    apply_sql(connection, render_schema(model))
    apply_sql(connection, render_seed(model, mask=mask))
    return connection


def test_hostile_identifiers_apply():
    connection = apply_model(hostile_model())
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"group", "order"}
    columns = [row[1] for row in connection.execute('PRAGMA table_info("order")')]
    assert columns == ["id", "group_id", "größe", 'say "hi"', "parent_id", "email"]


def test_seed_values_round_trip():
    connection = apply_model(hostile_model(), mask=False)
    stored = [row[0] for row in connection.execute('SELECT "größe" FROM "order" ORDER BY id')]
    assert stored == HOSTILE_VALUES


def test_seed_foreign_keys_clean():
    connection = apply_model(hostile_model())
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_seed_masks_personal_data():
    model = hostile_model()
    seed = render_seed(model)
    assert "real.example" not in seed
    connection = apply_model(model)
    emails = [row[0] for row in connection.execute('SELECT email FROM "order"')]
    assert len(set(emails)) == len(emails)
    assert all(email.endswith("@example.invalid") for email in emails)


def test_seed_unmasked_on_request():
    assert "person1@real.example" in render_seed(hostile_model(), mask=False)


def test_seed_statements_stay_under_limit():
    model = hostile_model()
    long_text = "x" * 5_000
    model.seed["order"].rows = [[index, 1, long_text, None, None, f"p{index}@example.org"]
                                for index in range(1, 101)]
    seed = render_seed(model)
    statements = [part for part in seed.split(";\n") if "INSERT" in part]
    assert len(statements) > 1
    assert all(len(statement.encode()) < MAX_STATEMENT_BYTES for statement in statements)
    connection = apply_model(model)
    assert connection.execute('SELECT count(*) FROM "order"').fetchone()[0] == 100


def test_outputs_have_no_transaction_control():
    model = hostile_model()
    forward, rollback = initial_migration(model)
    for text in (render_schema(model), render_seed(model), forward, rollback):
        assert not re.search(r"^\s*(BEGIN|COMMIT|SAVEPOINT|ROLLBACK|END TRANSACTION)\b", text,
                             re.IGNORECASE | re.MULTILINE)


def test_rollback_drops_every_table():
    model = hostile_model()
    forward, rollback = initial_migration(model)
    connection = connect(":memory:")
    apply_sql(connection, forward)
    apply_sql(connection, render_seed(model))
    apply_sql(connection, rollback)
    assert connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0


def test_migration_equals_schema():
    model = hostile_model()
    forward, _ = initial_migration(model)
    from_schema, from_migration = connect(":memory:"), connect(":memory:")
    apply_sql(from_schema, render_schema(model))
    apply_sql(from_migration, forward)

    def shape(connection):
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {table: connection.execute(f'PRAGMA table_xinfo("{table}")').fetchall() for table in tables}

    assert shape(from_schema) == shape(from_migration)


# Mermaid's erDiagram grammar, as far as the emitter uses it: entity blocks with optional
# aliases, attributes "TYPE name [PK, FK, UK] ["comment"]" and quoted relationship labels.
_ENTITY_OPEN = re.compile(r'^    [A-Za-z_][A-Za-z0-9_]*(\["[^"]*"\])? \{$')
_ATTRIBUTE = re.compile(r'^        [A-Za-z]+ [A-Za-z_][A-Za-z0-9_]*( (PK|FK|UK)(, (PK|FK|UK))*)?( "[^"]*")?$')
_RELATION = re.compile(r'^    [A-Za-z_][A-Za-z0-9_]* (\|\||\|o)--(o\{|o\||\|\{|\|\|) [A-Za-z_][A-Za-z0-9_]* : "[^"]*"$')


def test_erd_lines_follow_grammar():
    erd = render_erd(hostile_model())
    lines = erd.splitlines()
    assert lines[0] == "erDiagram"
    for line in lines[1:]:
        assert (_ENTITY_OPEN.match(line) or _ATTRIBUTE.match(line) or _RELATION.match(line)
                or line == "    }"), line


def test_erd_labels_odd_names():
    lines = render_erd(hostile_model()).splitlines()
    assert '        TEXT gr__e "größe"' in lines
    assert "        TEXT say__hi_ \"say 'hi'\"" in lines


def test_nullable_json_column_accepts_null():
    model = hostile_model()
    model.entities[0].columns.append(Column(name="extra", logical_type="json", sqlite_type="TEXT"))
    from dmodel.entities import _check_for
    model.entities[0].columns[-1].check = _check_for(model.entities[0].columns[-1])
    connection = connect(":memory:")
    apply_sql(connection, render_schema(model))
    connection.execute('INSERT INTO "group" (id, extra) VALUES (1, NULL), (2, \'{"a": 1}\')')
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute('INSERT INTO "group" (id, extra) VALUES (3, \'not json\')')


def test_nul_character_round_trips():
    model = hostile_model()
    model.seed["order"].rows[1][2] = "before\x00after"
    connection = apply_model(model, mask=False)
    assert connection.execute('SELECT "größe" FROM "order" WHERE id = 2').fetchone()[0] == "before\x00after"


def test_seed_with_reference_cycle_applies():
    def table(name: str, other: str) -> Entity:
        return Entity(name=name, columns=[
            Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
            Column(name=f"{other}_id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
        ], primary_key=["id"], foreign_keys=[
            ForeignKey(columns=[f"{other}_id"], ref_table=other, ref_columns=["id"], on_delete="RESTRICT")])

    # Every team has a captain and every captain a team: neither table can be seeded first.
    model = Model(name="cycle", entities=[table("teams", "players"), table("players", "teams")], seed={
        "teams": SeedTable(columns=["id", "players_id"], rows=[[1, 10], [2, 20]]),
        "players": SeedTable(columns=["id", "teams_id"], rows=[[10, 1], [20, 2]]),
    })
    connection = apply_model(model)
    assert connection.execute("SELECT count(*) FROM players").fetchone()[0] == 2
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
