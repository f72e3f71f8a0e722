"""Compare two introspected schemas and list what changed, classified and coded.

Nothing here writes SQL: :mod:`dmodel.plan` turns the changes into
operations. Each change carries a stable code, a safety class and a
one-line description.

Codes
-----

Compatible changes, applied in place (``compatible``):

========  ==========================================
MF101     column added
MF102     table added
MF103     index added
MF104     index dropped
MF105     index changed (dropped and created again)
MF106     trigger added
MF107     trigger dropped
MF108     trigger changed
MF109     view added
MF110     view dropped
MF111     view changed
MF112     table renamed (from a rename hint)
MF113     column renamed (from a rename hint)
========  ==========================================

Changes that SQLite can only make by rebuilding the table (``needs-rebuild``):

========  ==========================================
RB200     tables rebuilt (the operation that carries out the changes below)
RB201     column type widened
RB202     NOT NULL added to a column with a default (NULLs take the default)
RB203     NOT NULL removed
RB204     default changed
RB205     CHECK constraint added (the copy fails if a row violates it)
RB206     CHECK constraint removed
RB207     foreign key added (the commit fails if a row has no parent)
RB208     foreign key removed
RB209     foreign key actions changed
RB210     UNIQUE constraint added (the copy fails on duplicates)
RB211     UNIQUE constraint removed
RB212     primary key changed
RB213     table options changed (STRICT, WITHOUT ROWID, AUTOINCREMENT)
RB214     column added that ALTER TABLE ADD COLUMN cannot add
RB215     generated column changed
RB216     collation changed
RB217     virtual table changed (dropped and created again, rows lost)
========  ==========================================

Destructive changes (``destructive``), refused unless allowed:

========  ==========================================
DS102     table dropped
DS103     column dropped
DS104     virtual table dropped or changed
========  ==========================================

Breaking changes (``breaking``), refused unless allowed:

========  ==========================================
BC101     column type narrowed (the copy fails on values that do not fit)
BC102     NOT NULL added to a column without a default (the copy fails on NULLs)
BC103     NOT NULL column added without a default or backfill value
========  ==========================================

Column order is not compared: ``ALTER TABLE ADD COLUMN`` appends, and code
that names its columns does not see the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from dmodel.introspect import Column, ForeignKey, Schema, Table, normalize_sql, tokenize
from dmodel.conventions import quote_identifier


class Safety(str, Enum):
    """Safety class of a change for a database that already contains rows, from safest to least safe."""

    COMPATIBLE = "compatible"
    NEEDS_REBUILD = "needs-rebuild"
    DESTRUCTIVE = "destructive"
    BREAKING = "breaking"

    @property
    def rank(self) -> int:
        return list(Safety).index(self)


CODES: dict[str, tuple[Safety, str]] = {
    "MF101": (Safety.COMPATIBLE, "column added"),
    "MF102": (Safety.COMPATIBLE, "table added"),
    "MF103": (Safety.COMPATIBLE, "index added"),
    "MF104": (Safety.COMPATIBLE, "index dropped"),
    "MF105": (Safety.COMPATIBLE, "index changed"),
    "MF106": (Safety.COMPATIBLE, "trigger added"),
    "MF107": (Safety.COMPATIBLE, "trigger dropped"),
    "MF108": (Safety.COMPATIBLE, "trigger changed"),
    "MF109": (Safety.COMPATIBLE, "view added"),
    "MF110": (Safety.COMPATIBLE, "view dropped"),
    "MF111": (Safety.COMPATIBLE, "view changed"),
    "MF112": (Safety.COMPATIBLE, "table renamed"),
    "MF113": (Safety.COMPATIBLE, "column renamed"),
    "RB200": (Safety.NEEDS_REBUILD, "tables rebuilt"),
    "RB201": (Safety.NEEDS_REBUILD, "column type widened"),
    "RB202": (Safety.NEEDS_REBUILD, "NOT NULL added, NULLs take the default"),
    "RB203": (Safety.NEEDS_REBUILD, "NOT NULL removed"),
    "RB204": (Safety.NEEDS_REBUILD, "default changed"),
    "RB205": (Safety.NEEDS_REBUILD, "CHECK constraint added"),
    "RB206": (Safety.NEEDS_REBUILD, "CHECK constraint removed"),
    "RB207": (Safety.NEEDS_REBUILD, "foreign key added"),
    "RB208": (Safety.NEEDS_REBUILD, "foreign key removed"),
    "RB209": (Safety.NEEDS_REBUILD, "foreign key actions changed"),
    "RB210": (Safety.NEEDS_REBUILD, "UNIQUE constraint added"),
    "RB211": (Safety.NEEDS_REBUILD, "UNIQUE constraint removed"),
    "RB212": (Safety.NEEDS_REBUILD, "primary key changed"),
    "RB213": (Safety.NEEDS_REBUILD, "table options changed"),
    "RB214": (Safety.NEEDS_REBUILD, "column added by a rebuild"),
    "RB215": (Safety.NEEDS_REBUILD, "generated column changed"),
    "RB216": (Safety.NEEDS_REBUILD, "collation changed"),
    "DS102": (Safety.DESTRUCTIVE, "table dropped"),
    "DS103": (Safety.DESTRUCTIVE, "column dropped"),
    "DS104": (Safety.DESTRUCTIVE, "virtual table dropped or changed"),
    "BC101": (Safety.BREAKING, "column type narrowed"),
    "BC102": (Safety.BREAKING, "NOT NULL added without a default"),
    "BC103": (Safety.BREAKING, "NOT NULL column added without a default"),
}

# Kinds of change that only a table rebuild can carry out.
REBUILD_CODES = frozenset({code for code, (safety, _) in CODES.items() if code.startswith("RB")} | {"BC101", "BC102"})


@dataclass(frozen=True)
class Change:
    """One difference between the current and the target schema.

    ``table`` is the table's target name (its current name for a dropped
    table); ``subject`` is the column, index, trigger or view concerned, or
    the table itself.
    """

    code: str
    table: str | None
    subject: str
    detail: str
    previous: str | None = None

    @property
    def safety(self) -> Safety:
        return CODES[self.code][0]

    @property
    def title(self) -> str:
        return CODES[self.code][1]

    def describe(self) -> str:
        return f"{self.code} {self.title}: {self.detail}"

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "safety": self.safety.value, "table": self.table, "subject": self.subject,
                "title": self.title, "detail": self.detail}


@dataclass
class Renames:
    """Rename hints resolved against the two schemas: current name -> target name."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def table(self, current_key: str) -> str:
        return self.tables.get(current_key, current_key)

    def column(self, current_table_key: str, column: str) -> str:
        return self.columns.get(current_table_key, {}).get(column.lower(), column.lower())


def resolve_renames(renames: dict[str, str] | None, current: Schema, target: Schema) -> Renames:
    """Turn hints (``{"old": "new", "table.old_column": "new_column"}``) into renames that apply.

    A hint applies when its old name exists in the current schema and its new
    name exists only in the target. Any other hint, already applied or naming
    what neither schema has, is listed in ``ignored``. The table in a column
    hint may be named by its current or its target name.
    """
    resolved = Renames()
    for old, new in sorted((renames or {}).items()):
        if "." in old:
            continue
        old_key, new_key = old.lower(), new.lower()
        if old_key in current.tables and old_key not in target.tables and new_key in target.tables \
                and new_key not in current.tables:
            resolved.tables[old_key] = new_key
        else:
            resolved.ignored.append(f"{old} -> {new}")
    target_to_current = {new: old for old, new in resolved.tables.items()}
    for old, new in sorted((renames or {}).items()):
        if "." not in old:
            continue
        table_name, column_name = old.lower().split(".", 1)
        current_key = target_to_current.get(table_name, table_name)
        current_table = current.table(current_key)
        target_table = target.table(resolved.table(current_key))
        applies = (current_table is not None and target_table is not None
                   and current_table.column(column_name) is not None and target_table.column(column_name) is None
                   and target_table.column(new) is not None and current_table.column(new) is None)
        if applies:
            resolved.columns.setdefault(current_key, {})[column_name] = new.lower()
        else:
            resolved.ignored.append(f"{old} -> {new}")
    return resolved


# --- per-table comparison ---------------------------------------------------

# Type changes that keep every value: a STRICT column converts integers to REAL
# or TEXT and anything fits ANY.
_WIDENING = {("INTEGER", "REAL"), ("INT", "REAL"), ("INTEGER", "TEXT"), ("INT", "TEXT"), ("REAL", "TEXT"),
             ("INT", "INTEGER"), ("INTEGER", "INT")}


def _is_widening(before: str, after: str) -> bool:
    before, after = before.upper(), after.upper()
    return after in ("ANY", "") or (before, after) in _WIDENING


def _rename_expression(expression: str, columns: dict[str, str]) -> str:
    """Rename column identifiers in an expression, as ``ALTER TABLE RENAME COLUMN`` would."""
    if not columns:
        return expression
    pieces = []
    last = 0
    for token in tokenize(expression):
        if token.is_name and token.value in columns:
            pieces.append(expression[last:token.start])
            pieces.append(quote_identifier(columns[token.value]))
            last = token.end
    pieces.append(expression[last:])
    return "".join(pieces)


def _key_tuple(names: tuple[str, ...], columns: dict[str, str]) -> tuple[str, ...]:
    return tuple(columns.get(name.lower(), name.lower()) for name in names)


def _foreign_key_signature(key: ForeignKey, columns: dict[str, str], renames: Renames, parents: Schema,
                           parent_renamed: bool) -> tuple:
    parent_key = key.ref_table.lower()
    ref_columns = key.ref_columns
    parent = parents.table(parent_key)
    if not ref_columns and parent is not None:
        ref_columns = parent.primary_key
    parent_columns = renames.columns.get(parent_key, {}) if parent_renamed else {}
    target_parent = renames.table(parent_key) if parent_renamed else parent_key
    return (_key_tuple(key.columns, columns), target_parent, _key_tuple(ref_columns, parent_columns))


def _checks(table: Table, columns: dict[str, str], skipped: set[str]) -> list[str]:
    """Return the table's CHECK constraints normalized, leaving out those of ``skipped`` columns.

    The CHECK of a column that is added or dropped comes and goes with that
    column, so it is not a change of its own.
    """
    checks = [check for column in table.columns if columns.get(column.name.lower(), column.name.lower())
              not in skipped for check in column.checks] + table.checks
    return sorted(normalize_sql(_rename_expression(check, columns)) or "" for check in checks)


def _compare_column(table: str, before: Column, after: Column) -> list[Change]:
    changes = []
    place = f"{table}.{after.name}"
    if before.is_generated or after.is_generated:
        same = (before.hidden == after.hidden and normalize_sql(before.generated) == normalize_sql(after.generated)
                and before.type.upper() == after.type.upper())
        if not same:
            changes.append(Change("RB215", table, after.name, f"{place} is computed differently"))
        return changes
    if before.type.upper() != after.type.upper():
        code = "RB201" if _is_widening(before.type, after.type) else "BC101"
        changes.append(Change(code, table, after.name, f"{place} {before.type or 'untyped'} -> {after.type or 'untyped'}"))
    if not before.not_null and after.not_null:
        code = "RB202" if after.default is not None else "BC102"
        changes.append(Change(code, table, after.name, f"{place} becomes NOT NULL"))
    elif before.not_null and not after.not_null:
        changes.append(Change("RB203", table, after.name, f"{place} accepts NULL"))
    if normalize_sql(before.default) != normalize_sql(after.default):
        changes.append(Change("RB204", table, after.name, f"{place} DEFAULT {before.default} -> {after.default}"))
    if (before.collation or "BINARY") != (after.collation or "BINARY"):
        changes.append(Change("RB216", table, after.name, f"{place} COLLATE {before.collation} -> {after.collation}"))
    return changes


def compare_tables(before: Table, after: Table, current: Schema, target: Schema, renames: Renames) -> list[Change]:
    """List the differences between one current table and its target version."""
    name = after.name
    before_key = before.name.lower()
    if before.virtual or after.virtual:
        if before.virtual != after.virtual or normalize_sql(before.sql) != normalize_sql(after.sql):
            return [Change("DS104", name, name, f"{name} is dropped and created again, and its rows are lost")]
        return []

    column_renames = renames.columns.get(before_key, {})
    changes = []
    for old, new in sorted(column_renames.items()):
        new_name = after.column(new).name  # type: ignore[union-attr]
        old_name = before.column(old).name  # type: ignore[union-attr]
        changes.append(Change("MF113", name, new_name, f"{name}.{old_name} -> {new_name}", previous=old_name))

    before_columns = {column_renames.get(column.name.lower(), column.name.lower()): column for column in before.columns}
    after_columns = {column.name.lower(): column for column in after.columns}
    for key, column in after_columns.items():
        if key not in before_columns:
            code = "MF101"
            if column.not_null and column.default is None and not column.is_generated and not column.primary_key:
                code = "BC103"
            changes.append(Change(code, name, column.name, f"{name}.{column.name} {column.type}".rstrip()))
    for key, column in before_columns.items():
        if key not in after_columns:
            changes.append(Change("DS103", name, column.name, f"{name}.{column.name} and its values"))
        else:
            changes.extend(_compare_column(name, column, after_columns[key]))

    if _key_tuple(before.primary_key, column_renames) != _key_tuple(after.primary_key, {}):
        changes.append(Change("RB212", name, name, f"{name} PRIMARY KEY ({', '.join(before.primary_key)}) -> "
                                                   f"({', '.join(after.primary_key)})"))
    options_before = (before.strict, before.without_rowid, before.autoincrement)
    options_after = (after.strict, after.without_rowid, after.autoincrement)
    if options_before != options_after:
        changes.append(Change("RB213", name, name, f"{name} STRICT, WITHOUT ROWID, AUTOINCREMENT "
                                                   f"{options_before} -> {options_after}"))

    changes.extend(_compare_foreign_keys(before, after, current, target, renames))

    uniques_before = {_key_tuple(unique, column_renames) for unique in before.uniques}
    uniques_after = {_key_tuple(unique, {}) for unique in after.uniques}
    for unique in sorted(uniques_after - uniques_before):
        changes.append(Change("RB210", name, ", ".join(unique), f"{name} UNIQUE ({', '.join(unique)})"))
    for unique in sorted(uniques_before - uniques_after):
        changes.append(Change("RB211", name, ", ".join(unique), f"{name} UNIQUE ({', '.join(unique)})"))

    only_before = set(before_columns) - set(after_columns)
    only_after = set(after_columns) - set(before_columns)
    checks_before, checks_after = _checks(before, column_renames, only_before), _checks(after, {}, only_after)
    for check in sorted(set(checks_after) - set(checks_before)):
        changes.append(Change("RB205", name, name, f"{name} CHECK ({check})"))
    for check in sorted(set(checks_before) - set(checks_after)):
        changes.append(Change("RB206", name, name, f"{name} CHECK ({check})"))
    return changes


def _compare_foreign_keys(before: Table, after: Table, current: Schema, target: Schema,
                          renames: Renames) -> list[Change]:
    name = after.name
    column_renames = renames.columns.get(before.name.lower(), {})
    keys_before = {}
    for key in before.foreign_keys:
        signature = _foreign_key_signature(key, column_renames, renames, current, parent_renamed=True)
        keys_before[signature] = key
    keys_after = {_foreign_key_signature(key, {}, Renames(), target, parent_renamed=False): key
                  for key in after.foreign_keys}
    changes = []
    for signature in sorted(set(keys_after) | set(keys_before)):
        columns, parent, ref_columns = signature
        text = f"{name} ({', '.join(columns)}) REFERENCES {parent} ({', '.join(ref_columns)})"
        if signature not in keys_before:
            changes.append(Change("RB207", name, ", ".join(columns), text))
        elif signature not in keys_after:
            changes.append(Change("RB208", name, ", ".join(columns), text))
        else:
            old, new = keys_before[signature], keys_after[signature]
            actions_before = (old.on_delete, old.on_update, old.deferred)
            actions_after = (new.on_delete, new.on_update, new.deferred)
            if actions_before != actions_after:
                changes.append(Change("RB209", name, ", ".join(columns),
                                      f"{text}: ON DELETE {old.on_delete} -> {new.on_delete}, ON UPDATE "
                                      f"{old.on_update} -> {new.on_update}, deferred {old.deferred} -> {new.deferred}"))
    return changes


# --- whole-schema comparison --------------------------------------------------

def _normalized_object(sql: str, names: dict[str, str]) -> str:
    """Return a trigger, view or index statement normalized, with renamed tables under their new names."""
    if names:
        pieces = [quote_identifier(names[token.value]) if token.is_name and token.value in names else token.text
                  for token in tokenize(sql)]
        sql = " ".join(pieces)
    text = normalize_sql(sql) or ""
    return text.replace(" if not exists ", " ", 1)


def compare(current: Schema, target: Schema, renames: dict[str, str] | Renames | None = None) -> list[Change]:
    """List every difference between ``current`` and ``target``, in a stable order.

    ``renames`` are hints in the hints-file format; a rename is never guessed
    from a dropped and an added name.
    """
    resolved = renames if isinstance(renames, Renames) else resolve_renames(renames, current, target)
    changes: list[Change] = []

    target_from_current = {key: resolved.table(key) for key in current.tables}
    matched = set(target_from_current.values()) & set(target.tables)
    for key, table in target.tables.items():
        if key not in matched:
            changes.append(Change("MF102", table.name, table.name, table.name))
    for old, new in sorted(resolved.tables.items()):
        changes.append(Change("MF112", target.tables[new].name, target.tables[new].name,
                              f"{current.tables[old].name} -> {target.tables[new].name}",
                              previous=current.tables[old].name))
    for key, table in current.tables.items():
        new_key = target_from_current[key]
        if new_key not in target.tables:
            code = "DS104" if table.virtual else "DS102"
            changes.append(Change(code, table.name, table.name, f"{table.name} and all its rows"))
            continue
        changes.extend(compare_tables(table, target.tables[new_key], current, target, resolved))

    changes.extend(_compare_objects(current.indexes, target.indexes, resolved, ("MF103", "MF104", "MF105"),
                                    lambda index: index.table))
    changes.extend(_compare_objects(current.triggers, target.triggers, resolved, ("MF106", "MF107", "MF108"),
                                    lambda trigger: trigger.table))
    changes.extend(_compare_objects(current.views, target.views, resolved, ("MF109", "MF110", "MF111"),
                                    lambda view: None))
    return changes


def _compare_objects(current: dict, target: dict, renames: Renames, codes: tuple[str, str, str],
                     table_of) -> list[Change]:
    added, dropped, changed = codes
    table_names = dict(renames.tables)
    for table_key, columns in renames.columns.items():
        table_names.update(columns)
    changes = []
    for key, item in target.items():
        if key not in current:
            changes.append(Change(added, table_of(item), item.name, item.name))
        elif _normalized_object(current[key].sql, table_names) != _normalized_object(item.sql, {}):
            changes.append(Change(changed, table_of(item), item.name, item.name))
    for key, item in current.items():
        if key not in target:
            table = table_of(item)
            changes.append(Change(dropped, renames.table(table.lower()) if table else None, item.name, item.name))
    return changes
