"""Random schema evolutions, planned and applied in sequence to a database that holds rows.

Each step changes a small model (new tables and columns, wider types,
tighter NOT NULL with a default, new CHECKs, indexes, foreign-key actions,
renames through hints), plans the migration from the folder, applies it as
D1 would and checks: no row lost, no value changed, the schema equal to the
target, ``foreign_key_check`` clean, and the rollback back to the previous
schema with the same rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmodel.compare import compare
from dmodel.introspect import apply_script, introspect_connection, schema_from_sql
from dmodel.plan import next_migration_number, plan_migration

ACTIONS = ["CASCADE", "SET NULL", "NO ACTION", "RESTRICT"]


@dataclass
class ColumnSpec:
    type: str = "INTEGER"
    not_null: bool = False
    default: str | None = None
    check: str | None = None
    references: str | None = None


@dataclass
class TableSpec:
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    parent: str | None = None
    action: str = "NO ACTION"
    indexed: set[str] = field(default_factory=set)
    view: bool = False
    trigger: bool = False


def render(model: dict[str, TableSpec]) -> str:
    """Return schema.sql for the model; a table only references tables created before it."""
    statements = []
    for name, table in model.items():
        lines = ["    id INTEGER PRIMARY KEY"]
        if table.parent:
            lines.append(f"    parent_id INTEGER REFERENCES {table.parent} (id) ON DELETE {table.action}")
        for column_name, column in table.columns.items():
            line = f"    {column_name} {column.type}"
            if column.not_null:
                line += " NOT NULL"
            if column.default is not None:
                line += f" DEFAULT {column.default}"
            if column.check:
                line += f" CHECK ({column.check})"
            if column.references:
                line += f" REFERENCES {column.references} (id) ON DELETE SET NULL"
            lines.append(line)
        statements.append(f"CREATE TABLE {name} (\n" + ",\n".join(lines) + "\n) STRICT;")
        for column_name in sorted(table.indexed):
            statements.append(f"CREATE INDEX idx_{name}__{column_name} ON {name} ({column_name});")
        if table.trigger:
            statements.append(f"CREATE TRIGGER trg_{name}__guard BEFORE DELETE ON {name} WHEN OLD.id < 0 "
                              "BEGIN SELECT RAISE(ABORT, 'negative ids are kept'); END;")
    for name, table in model.items():
        if table.view:
            statements.append(f"CREATE VIEW v_{name} AS SELECT * FROM {name} WHERE id > 0;")
    return "\n".join(statements) + "\n"


# --- evolution steps: each changes the model with values drawn from ``data`` and returns the rename
# hints for the planner and its effects by (table, column): the value that NULLs of a column tightened
# to NOT NULL take, or DROPPED for a dropped column (or a dropped table, with column None) ---

DROPPED = object()


def referenced(model: dict[str, TableSpec]) -> set[str]:
    return {spec.parent for spec in model.values() if spec.parent} | {
        column.references for spec in model.values() for column in spec.columns.values() if column.references}

def new_column_name(model: dict[str, TableSpec], prefix: str) -> str:
    """Return a column name that no table of the model uses."""
    taken = {column for spec in model.values() for column in spec.columns}
    number = len(taken)
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def add_table(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    number = len(model)
    while f"t{number}" in model:
        number += 1
    name = f"t{number}"
    parent = data.draw(st.sampled_from([None, *model]))
    model[name] = TableSpec(columns={"amount": ColumnSpec(), "label": ColumnSpec("TEXT")}, parent=parent,
                            action=data.draw(st.sampled_from(ACTIONS)))
    return {}, {}


def add_column(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    table = model[data.draw(st.sampled_from(sorted(model)))]
    name = new_column_name(model, "c")
    table.columns[name] = data.draw(st.sampled_from([
        ColumnSpec("TEXT"), ColumnSpec("INTEGER", True, "0"), ColumnSpec("TEXT", True, "'none'"),
        ColumnSpec("REAL", False, "1.5"), ColumnSpec("TEXT", True, "'a'", f"{name} IN ('a', 'b')"),
        ColumnSpec("TEXT", True, "(strftime('%Y', 'now'))"),
    ]))
    return {}, {}


def widen_type(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    candidates = [(table, column) for table, spec in model.items() for column, column_spec in spec.columns.items()
                  if column_spec.type == "INTEGER" and column_spec.check is None]
    if candidates:
        table, column = data.draw(st.sampled_from(candidates))
        spec = model[table].columns[column]
        # SQLite finds no parent row for a REAL value that references an INTEGER PRIMARY KEY.
        spec.type = data.draw(st.sampled_from(["TEXT", "ANY"] if spec.references else ["REAL", "TEXT", "ANY"]))
    return {}, {}


def tighten_not_null(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    # A reference column is left out: its default, 0, names no parent row.
    candidates = [(table, column) for table, spec in model.items() for column, column_spec in spec.columns.items()
                  if not column_spec.not_null and not column_spec.references]
    if candidates:
        table, column = data.draw(st.sampled_from(candidates))
        spec = model[table].columns[column]
        spec.not_null = True
        spec.default = {"INTEGER": "0", "REAL": "0.0", "TEXT": "''", "ANY": "0"}[spec.type]
        return {}, {(table, column): {"INTEGER": 0.0, "REAL": 0.0, "TEXT": "", "ANY": 0.0}[spec.type]}
    return {}, {}


def add_check(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    candidates = [(table, column) for table, spec in model.items() for column, column_spec in spec.columns.items()
                  if column_spec.check is None and column_spec.type in ("INTEGER", "REAL")]
    if candidates:
        table, column = data.draw(st.sampled_from(candidates))
        model[table].columns[column].check = f"{column} IS NULL OR {column} >= 0"
    return {}, {}


def toggle_index(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    table = model[data.draw(st.sampled_from(sorted(model)))]
    if table.columns:
        column = data.draw(st.sampled_from(sorted(table.columns)))
        table.indexed ^= {column}
    return {}, {}


def change_action(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    children = [name for name, spec in model.items() if spec.parent]
    if children:
        model[data.draw(st.sampled_from(children))].action = data.draw(st.sampled_from(ACTIONS))
    return {}, {}


def rename_column(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    candidates = [(table, column) for table, spec in model.items() for column, column_spec in spec.columns.items()
                  if column_spec.check is None]
    if not candidates:
        return {}, {}
    table, column = data.draw(st.sampled_from(candidates))
    new = f"{column}_renamed"
    spec = model[table]
    spec.columns = {new if name == column else name: value for name, value in spec.columns.items()}
    spec.indexed = {new if name == column else name for name in spec.indexed}
    return {f"{table}.{column}": new}, {}


def toggle_view(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    table = model[data.draw(st.sampled_from(sorted(model)))]
    table.view = not table.view
    return {}, {}


def toggle_trigger(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    table = model[data.draw(st.sampled_from(sorted(model)))]
    table.trigger = not table.trigger
    return {}, {}


def rename_table(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    old = data.draw(st.sampled_from(sorted(model)))
    new = f"{old}_renamed"
    for spec in model.values():
        spec.parent = new if spec.parent == old else spec.parent
        for column in spec.columns.values():
            column.references = new if column.references == old else column.references
    for name in list(model):
        model[new if name == old else name] = model.pop(name)
    return {old: new}, {}


def add_reference(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    table = data.draw(st.sampled_from(sorted(model)))
    parent = data.draw(st.sampled_from(sorted(model)))
    name = new_column_name(model, "ref")
    model[table].columns[name] = ColumnSpec("INTEGER", references=parent)
    return {}, {}


def drop_column(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    candidates = [(table, column) for table, spec in model.items() for column in spec.columns]
    if not candidates:
        return {}, {}
    table, column = data.draw(st.sampled_from(candidates))
    del model[table].columns[column]
    model[table].indexed.discard(column)
    return {}, {(table, column): DROPPED}


def drop_table(model: dict[str, TableSpec], data) -> tuple[dict[str, str], dict]:
    leaves = sorted(set(model) - referenced(model))
    if len(model) < 2 or not leaves:
        return {}, {}
    table = data.draw(st.sampled_from(leaves))
    del model[table]
    return {}, {(table, None): DROPPED}


STEPS = [add_table, add_column, widen_type, tighten_not_null, add_check, toggle_index, change_action, rename_column,
         rename_table, add_reference, drop_column, drop_table, toggle_view, toggle_trigger]


def seed(connection: sqlite3.Connection, model: dict[str, TableSpec], round_number: int) -> None:
    """Insert three rows into every table; values satisfy every CHECK the steps can add."""
    for name, table in model.items():
        for offset in range(3):
            values = {}
            if table.parent:
                parent_ids = [row[0] for row in connection.execute(f"SELECT id FROM {table.parent} ORDER BY id")]
                values["parent_id"] = parent_ids[(round_number + offset) % len(parent_ids)] if parent_ids else None
            for column_name, column in table.columns.items():
                if column.references:
                    ids = [row[0] for row in connection.execute(f"SELECT id FROM {column.references} ORDER BY id")]
                    values[column_name] = ids[offset % len(ids)] if ids else None
                elif column.check and " IN " in column.check:
                    values[column_name] = "b"
                elif column.type == "TEXT":
                    values[column_name] = f"v{round_number}-{offset}"
                else:
                    values[column_name] = round_number * 10 + offset
            names = ", ".join(values) or "id"
            marks = ", ".join("?" for _ in values) or "NULL"
            connection.execute(f"INSERT INTO {name} ({names}) VALUES ({marks})", list(values.values()))


def comparable(value):
    """Return a value as a widened column would give it back: numbers as floats, numeric text as a number."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def contents(connection: sqlite3.Connection) -> dict[tuple[str, str], list]:
    """Return every column's values, in rowid order, by (table, column)."""
    result = {}
    for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for column in [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]:
            values = connection.execute(f"SELECT {column} FROM {table} ORDER BY rowid").fetchall()
            result[(table, column)] = [comparable(row[0]) for row in values]
    return result


def assert_kept(expected: dict[tuple[str, str], list], actual: dict[tuple[str, str], list], when: str) -> None:
    for key, values in expected.items():
        assert key in actual, f"{key} missing {when}"
        assert actual[key] == values, f"{key} values {when}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_evolutions_keep_rows(tmp_path_factory, data) -> None:
    folder = tmp_path_factory.mktemp("evolution") / "migrations"
    folder.mkdir()
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    model: dict[str, TableSpec] = {"t0": TableSpec(columns={"amount": ColumnSpec(), "label": ColumnSpec("TEXT")})}

    steps = data.draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=5))
    for round_number, step in enumerate([add_table, *steps]):
        renames, effects = step(model, data) if round_number else ({}, {})
        target_sql = render(model)
        plan = plan_migration(target_sql, folder, renames=renames, allow_destructive=True)
        assert plan.refused == [], [operation.reason for operation in plan.refused]
        before = contents(connection)
        before_schema = introspect_connection(connection)
        expected = {}
        for (table, column), values in before.items():
            effect = effects.get((table, column), effects.get((table, None)))
            if effect is DROPPED:
                continue
            if effect is not None:
                values = [effect if value is None else value for value in values]
            expected[(renames.get(table, table), renames.get(f"{table}.{column}", column))] = values

        apply_script(connection, plan.forward_sql())
        assert_kept(expected, contents(connection), f"after {step.__name__}")
        assert compare(introspect_connection(connection), schema_from_sql(target_sql)) == []
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []

        apply_script(connection, plan.rollback_sql())
        assert compare(introspect_connection(connection), before_schema) == []
        restored = {(table, column): values for (table, column), values in before.items()
                    if (table, column) not in effects and (table, None) not in effects}
        assert_kept(restored, contents(connection), f"after the rollback of {step.__name__}")
        apply_script(connection, plan.forward_sql())

        if plan.operations:
            (folder / f"{next_migration_number(folder):04d}_{plan.slug}.sql").write_text(plan.forward_sql())
        seed(connection, model, round_number)
    assert plan_migration(render(model), folder).operations == []
