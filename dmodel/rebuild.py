"""D1-safe table rebuilds: keep every row when SQLite cannot ALTER a table in place.

On D1 every migration runs inside a transaction, where ``PRAGMA foreign_keys
= OFF`` does nothing, and ``DROP TABLE`` runs an implicit ``DELETE`` that
fires the ON DELETE actions of the tables that reference it. So the usual
recipe (create ``new_t``, copy, drop ``t``, rename) empties CASCADE
children and rewrites SET NULL and SET DEFAULT children. It also fails at
COMMIT when NO ACTION children hold rows: with ``PRAGMA defer_foreign_keys =
on`` the implicit DELETE counts each orphaned child row as a deferred
violation, and renaming the new table does not uncount it (checked with
SQLite 3.40.1).

The rebuild here avoids both traps without renaming anything:

1. Rebuild the changed tables together with every table that reaches them
   through foreign keys whose ON DELETE is CASCADE, SET NULL or SET DEFAULT
   (transitively), so no action can reach a table outside the group.
2. Drop the group's triggers, then copy each table's rows into an untyped
   holding table ``__dmodel_old_<table>`` (no affinity, so no value changes).
3. Drop the old tables children first, create the new tables under their
   final names with their indexes, and copy the rows back parents first.
   Inserting a parent row uncounts the deferred violations of the NO ACTION
   and RESTRICT children that reference it, so those children keep their rows
   and need no rebuild.
4. Drop the holding tables, recreate the triggers, and run
   ``PRAGMA foreign_key_check`` on each rebuilt table.

NOTE: each copy is one ``INSERT ... SELECT``, and D1 stops a query after 30
seconds, so a table too large to copy twice within that needs a batched copy,
which this module does not write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from dmodel.conventions import quote_identifier, quote_string
from dmodel.introspect import Schema, Table, dependency_order, iter_references

# ON DELETE actions that change a child's rows when its parent table is dropped.
ROW_CHANGING_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})
HOLDING_PREFIX = "__dmodel_old_"
ROWID_COLUMN = "__dmodel_rowid"
SEQUENCE_TABLE = "__dmodel_old_sequence"


def rebuild_group(tables: Iterable[str], schemas: Iterable[Schema]) -> set[str]:
    """Return ``tables`` plus every table that reaches one of them through row-changing ON DELETE actions.

    Names are lowercased table names; each schema contributes its foreign
    keys, so passing the schema before and after a change covers both.
    """
    children: dict[str, set[str]] = {}
    for schema in schemas:
        for child, parent, foreign_key in iter_references(schema):
            if foreign_key.on_delete.upper() in ROW_CHANGING_ACTIONS:
                children.setdefault(parent, set()).add(child)
    group = {name.lower() for name in tables}
    pending = list(group)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in group:
                group.add(child)
                pending.append(child)
    return group


def _parents(schema: Schema, names: set[str]) -> list[tuple[str, str]]:
    return [(child, parent) for child, parent, _ in iter_references(schema) if child in names and parent in names]


@dataclass
class Fill:
    """A value for a column that the old rows lack or hold NULL in, as an SQL expression."""

    expression: str
    reason: str


@dataclass
class RebuildSql:
    statements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def copy_expressions(before: Table, after: Table, fills: dict[str, Fill]) -> tuple[list[str], list[str]]:
    """Return the target columns and the matching SELECT expressions over the holding table.

    A column present on both sides is copied. A NOT NULL column that was
    nullable takes its default for NULLs, and a fill replaces NULLs and covers
    new columns. Generated columns are never copied.
    """
    targets, expressions = [], []
    if not before.without_rowid and not after.without_rowid and not after.rowid_alias:
        targets.append("rowid")
        expressions.append(quote_identifier(before.primary_key[0] if before.rowid_alias else ROWID_COLUMN))
    for column in after.stored_columns:
        source = before.column(column.name)
        fill = fills.get(column.name.lower())
        if source is not None and not source.is_generated:
            expression = quote_identifier(source.name)
            if fill is not None:
                expression = f"COALESCE({expression}, {fill.expression})"
            elif column.not_null and not source.not_null and column.default is not None:
                expression = f"COALESCE({expression}, ({column.default}))"
        elif fill is not None:
            expression = fill.expression
        else:
            continue
        targets.append(quote_identifier(column.name))
        expressions.append(expression)
    return targets, expressions


def rebuild_statements(group: set[str], before: Schema, after: Schema,
                       fills: dict[str, dict[str, Fill]] | None = None) -> RebuildSql:
    """Return the statements that turn the ``group`` tables of ``before`` into those of ``after``.

    ``before`` is the schema when the statements run; ``after`` gives each
    table's ``CREATE TABLE`` text, indexes and triggers. Every name in
    ``group`` must be a table in both.
    """
    fills = fills or {}
    result = RebuildSql()
    copy_order = dependency_order(sorted(group), _parents(after, group))
    drop_order = list(reversed(dependency_order(sorted(group), _parents(before, group))))

    for trigger in before.triggers.values():
        if trigger.table.lower() in group:
            result.statements.append(f"DROP TRIGGER IF EXISTS {quote_identifier(trigger.name)};")

    for key in copy_order:
        old = before.tables[key]
        holding = quote_identifier(HOLDING_PREFIX + old.name)
        columns = [column.name for column in old.stored_columns]
        stash_columns = [quote_identifier(name) for name in columns]
        select = list(stash_columns)
        if not old.without_rowid and not old.rowid_alias:
            stash_columns.insert(0, quote_identifier(ROWID_COLUMN))
            select.insert(0, "rowid")
        result.statements.append(f"CREATE TABLE {holding} ({', '.join(stash_columns)});")
        result.statements.append(
            f"INSERT INTO {holding} ({', '.join(stash_columns)}) SELECT {', '.join(select)} "
            f"FROM {quote_identifier(old.name)};")

    # An AUTOINCREMENT table keeps its counter, so ids of deleted rows are not handed out again.
    # D1 lets a migration write sqlite_sequence (checked on wrangler 4.85.0's local D1).
    sequences = [key for key in copy_order if before.tables[key].autoincrement and after.tables[key].autoincrement]
    if sequences:
        names = ", ".join(quote_string(before.tables[key].name) for key in sequences)
        result.statements.append(f"CREATE TABLE {SEQUENCE_TABLE} (name, seq);")
        result.statements.append(
            f"INSERT INTO {SEQUENCE_TABLE} (name, seq) SELECT name, seq FROM sqlite_sequence WHERE name IN ({names});")

    for key in drop_order:
        result.statements.append(f"DROP TABLE {quote_identifier(before.tables[key].name)};")

    for key in copy_order:
        new = after.tables[key]
        result.statements.append(new.sql.rstrip().rstrip(";") + ";")
        for index in after.indexes.values():
            if index.table.lower() == key:
                result.statements.append(index.sql.rstrip().rstrip(";") + ";")

    for key in copy_order:
        old, new = before.tables[key], after.tables[key]
        targets, expressions = copy_expressions(old, new, fills.get(key, {}))
        holding = quote_identifier(HOLDING_PREFIX + old.name)
        if targets:
            result.statements.append(f"INSERT INTO {quote_identifier(new.name)} ({', '.join(targets)}) "
                                     f"SELECT {', '.join(expressions)} FROM {holding};")
        else:
            result.notes.append(f"{new.name} shares no column with its old version, so its rows are not copied")
        result.statements.append(f"DROP TABLE {holding};")

    if sequences:
        result.statements.append(
            "UPDATE sqlite_sequence SET seq = max(seq, (SELECT old.seq FROM "
            f"{SEQUENCE_TABLE} AS old WHERE old.name = sqlite_sequence.name)) "
            f"WHERE name IN (SELECT name FROM {SEQUENCE_TABLE});")
        result.statements.append(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM {SEQUENCE_TABLE} "
            "WHERE name NOT IN (SELECT name FROM sqlite_sequence);")
        result.statements.append(f"DROP TABLE {SEQUENCE_TABLE};")

    for trigger in after.triggers.values():
        if trigger.table.lower() in group:
            result.statements.append(trigger.sql.rstrip().rstrip(";") + ";")

    comment = ("-- foreign_key_check returns the violating rows instead of failing,\n"
               "-- and the deferred foreign keys still fail the COMMIT if any remain.\n")
    for position, key in enumerate(copy_order):
        check = f"PRAGMA foreign_key_check({quote_identifier(after.tables[key].name)});"
        result.statements.append(comment + check if position == 0 else check)
    return result
