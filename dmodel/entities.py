"""Conventions applied to relations: tables, keys, foreign keys and seed rows.

Every table gets ``id INTEGER PRIMARY KEY`` (a rowid alias). A natural key
that is a single integer column becomes ``id`` itself; any other natural key
is kept as a UNIQUE column or constraint beside a surrogate ``id``, and a
text identifier named ``id`` or ``<singular>_id`` is renamed ``external_id``.
Junction tables keep the composite primary key of their two foreign keys.
Foreign-key values are translated from natural keys to ``id`` values, so
the surrogate and every foreign key to it share one type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmodel.conventions import quote_identifier, quote_string, singularize, snake_case, unique_name
from dmodel.discovery import DeclaredEntity, DeclaredField
from dmodel.hints import Hints
from dmodel.model import (Column, Conventions, Decision, Entity, ForeignKey, Question, SeedTable,
                          Warning)
from dmodel.relation import Link, Relation, RelationSet

# ISO-8601 UTC with milliseconds, the form D1 and JavaScript's Date both read.
NOW_UTC = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

_DECLARED_TYPES: dict[str, tuple[str, str]] = {
    "integer": ("integer", "INTEGER"), "int": ("integer", "INTEGER"), "bigint": ("integer", "INTEGER"),
    "number": ("real", "REAL"), "float": ("real", "REAL"), "real": ("real", "REAL"), "double": ("real", "REAL"),
    "decimal": ("decimal", "TEXT"), "numeric": ("decimal", "TEXT"), "money": ("money", "INTEGER"),
    "currency": ("money", "INTEGER"), "boolean": ("boolean", "INTEGER"), "bool": ("boolean", "INTEGER"),
    "date": ("date", "TEXT"), "datetime": ("datetime", "TEXT"), "timestamp": ("datetime", "TEXT"),
    "email": ("email", "TEXT"), "url": ("url", "TEXT"), "phone": ("phone", "TEXT"), "uuid": ("uuid", "TEXT"),
    "json": ("json", "TEXT"), "object": ("json", "TEXT"), "enum": ("enum", "TEXT"), "text": ("text", "TEXT"),
    "string": ("text", "TEXT"), "varchar": ("text", "TEXT"), "blob": ("blob", "BLOB"),
}
_PII_CLASSES = {"email", "name", "phone", "address", "secret", "other"}


@dataclass
class _KeyPlan:
    """Key plan: the natural key of one relation and the ``id`` value of each of its rows."""

    natural: list[str]               # natural key columns (original names), empty when none
    id_from: str | None              # original column that becomes `id`, when the natural key is one integer
    ids: list[Any]                   # the `id` value of each row, in row order
    lookup: dict[tuple[str, ...], Any] = field(default_factory=dict)  # natural key text -> id


@dataclass
class BuiltEntities:
    entities: list[Entity] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    junctions: set[str] = field(default_factory=set)
    seed: dict[str, SeedTable] = field(default_factory=dict)
    column_renames: dict[tuple[str, str], str] = field(default_factory=dict)
    not_null_from_samples: dict[str, list[str]] = field(default_factory=dict)

    def seed_in_order(self, order: list[str]) -> dict[str, SeedTable]:
        return {name: self.seed[name] for name in order if name in self.seed and self.seed[name].rows}


def build_entities(relations: RelationSet, declared: dict[str, DeclaredEntity], hints: Hints,
                   conventions: Conventions) -> BuiltEntities:
    """Turn 3NF relations into entities with keys, foreign keys, checks and seed rows."""
    built = BuiltEntities()
    names = sorted(relations.relations)
    renames = {name: _column_renames(relations.relations[name], declared.get(name)) for name in names}
    plans = {name: _plan_key(relations.relations[name], declared.get(name), hints, built) for name in names}
    links_by_child: dict[str, list[Link]] = {}
    for link in relations.links:
        if link.child in relations.relations and link.parent in relations.relations:
            links_by_child.setdefault(link.child, []).append(link)

    for name in names:
        relation = relations.relations[name]
        entity, seed = _build_entity(relation, declared.get(name), renames[name], plans,
                                     links_by_child.get(name, []), relations, hints, conventions, built)
        built.entities.append(entity)
        built.seed[entity.name] = seed
        if relation.junction:
            built.junctions.add(entity.name)
    for table, names_ in sorted(built.not_null_from_samples.items()):
        built.decisions.append(Decision(
            code="C102", subject=table,
            message=f"{table}: {', '.join(names_)} are NOT NULL because every sample row has a value; "
                    "declare a field with \"required\": false in discovery to keep it nullable",
            evidence={"columns": names_, "rows": len(relations.relations[table].rows)}, confidence=0.7))
    _apply_renames(built, hints)
    return built


def _column_renames(relation: Relation, declared: DeclaredEntity | None) -> dict[str, str]:
    """Map data columns to declared field names (``deal_name`` -> ``name`` in table deals)."""
    renames: dict[str, str] = {}
    if declared is None:
        return renames
    prefix = singularize(relation.name) + "_"
    for declared_field in declared.fields:
        wanted = snake_case(declared_field.name)
        if wanted in relation.columns:
            continue
        candidate = prefix + wanted
        if candidate in relation.columns and candidate not in renames:
            renames[candidate] = wanted
            continue
        # A flattened nested object: declared `city` is the data's `default_address_city`.
        suffixed = [column for column in relation.columns
                    if column.endswith("_" + wanted) and column not in renames]
        if len(suffixed) == 1:
            renames[suffixed[0]] = wanted
    return renames


def _plan_key(relation: Relation, declared: DeclaredEntity | None, hints: Hints,
              built: BuiltEntities) -> _KeyPlan:
    forced = hints.keys.get(relation.name)
    natural = list(forced) if forced else list(relation.key or [])
    if not forced and declared is not None and declared.key and not relation.rows:
        natural = [snake_case(column) for column in ([declared.key] if isinstance(declared.key, str)
                                                     else declared.key)]
    natural = [column for column in natural if column in relation.columns]
    rows = relation.rows

    if relation.junction:
        return _KeyPlan(natural=natural, id_from=None, ids=[None] * len(rows))

    if len(natural) == 1 and _is_integer_key(relation, natural[0]):
        column = natural[0]
        ids = [row[column] for row in rows]
        built.decisions.append(Decision(
            code="K101", subject=f"{relation.name}.{column}",
            message=f"{relation.name}.{column} is a unique integer identifier and becomes the primary key id",
            evidence={"rows": len(rows), "distinct": len(set(ids))}))
        return _KeyPlan(natural=[column], id_from=column, ids=ids,
                        lookup={(_key_text(value),): value for value in ids})

    ids = list(range(1, len(rows) + 1))
    plan = _KeyPlan(natural=natural, id_from=None, ids=ids)
    for row, row_id in zip(rows, ids):
        if natural:
            plan.lookup.setdefault(tuple(_key_text(row.get(column)) for column in natural), row_id)
    if natural:
        built.decisions.append(Decision(
            code="K102", subject=f"{relation.name}({', '.join(natural)})",
            message=(f"{relation.name} gets a surrogate id INTEGER PRIMARY KEY; its natural key "
                     f"({', '.join(natural)}) is kept UNIQUE"),
            evidence={"rows": len(rows), "reason": "the natural key is text or composite"}))
    return plan


def _is_integer_key(relation: Relation, column: str) -> bool:
    profile = relation.profiles.get(column)
    values = relation.values(column)
    if profile is not None and getattr(profile, "sqlite_type", None) != "INTEGER":
        return False
    if profile is not None and getattr(profile, "logical_type", None) not in ("integer",):
        return False
    if not values or any(not isinstance(value, int) or isinstance(value, bool) for value in values):
        return False
    return len(set(values)) == len(values)


def _key_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _build_entity(relation: Relation, declared: DeclaredEntity | None, renames: dict[str, str],
                  plans: dict[str, _KeyPlan], links: list[Link], relations: RelationSet, hints: Hints,
                  conventions: Conventions, built: BuiltEntities) -> tuple[Entity, SeedTable]:
    plan = plans[relation.name]
    declared_fields = {snake_case(item.name): item for item in (declared.fields if declared else [])}
    taken: set[str] = set()
    columns: list[Column] = []
    values: dict[str, list[Any]] = {}
    foreign_keys: list[ForeignKey] = []
    unique_constraints: list[list[str]] = []

    def final_name(original: str) -> str:
        if plan.id_from == original:
            return "id"
        name = renames.get(original, original)
        if len(plan.natural) == 1 and plan.natural[0] == original and name in (
                "id", singularize(relation.name) + "_id"):
            return "external_id"
        return name

    if not relation.junction:
        columns.append(Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False,
                              description=f"Primary key of {relation.name}.",
                              source=[relation.column_sources[plan.id_from]] if plan.id_from in
                              relation.column_sources else []))
        values["id"] = plan.ids
        taken.add("id")

    consumed: set[str] = set()
    fk_columns = {column: link for link in links for column in link.child_columns if len(link.child_columns) == 1}
    for original in relation.columns:
        if original == plan.id_from:
            continue
        link = fk_columns.get(original)
        wanted = final_name(original)
        consumed.add(renames.get(original, original))
        if link is not None and not wanted.endswith("_id"):
            # The column now stores the parent's id, so it is named for the parent (sku -> product_id).
            wanted = f"{singularize(link.parent)}_id"
            built.decisions.append(Decision(
                code="K103", subject=f"{relation.name}.{original}",
                message=f"{relation.name}.{original} contains {link.parent} keys, so it becomes {wanted}, a foreign key "
                        f"to {link.parent}.id"))
        name = unique_name(wanted, taken)
        if name != original:
            built.column_renames[(relation.name, original)] = name
        column_values = relation.values(original)
        if link is not None:
            column_values = _translate(link, column_values, plans[link.parent], relation, built)
            column = Column(name=name, logical_type="integer", sqlite_type="INTEGER",
                            nullable=any(value is None for value in column_values) or not column_values,
                            description=f"References {link.parent}.", source=_source(relation, original))
        else:
            column = _data_column(relation, original, name, declared_fields.get(name), built)
        _apply_declared(column, declared_fields.get(name), relation.values(original), column_values,
                        relation.name, built)
        _apply_pii_hint(column, hints.pii.get(f"{relation.name}.{name}", "__unset__"))
        if column.pii and column.logical_type == "enum":
            # A CHECK would list personal values, and the masked seed would break it.
            column.logical_type, column.enum_values = "text", None
            column.check = _check_for(column)
        columns.append(column)
        values[name] = column_values
        if link is not None:
            foreign_keys.append(_foreign_key(relation, link, name, column, plans))

    placed = {source for other in relations.relations.values() for source in other.column_sources.values()}
    for field_name, declared_field in declared_fields.items():
        if declared is not None and f"{declared.name}.{declared_field.name}" in placed:
            continue  # decomposition moved this field to another table (an address block, say)
        if field_name not in taken and field_name not in consumed and field_name != "id":
            column = _declared_only_column(field_name, declared_field, relation.name)
            _apply_pii_hint(column, hints.pii.get(f"{relation.name}.{field_name}", "__unset__"))
            columns.append(column)
            values[field_name] = [None] * len(relation.rows)
            taken.add(field_name)

    natural_names = [final_name(column) for column in plan.natural if column != plan.id_from]
    if relation.junction:
        primary_key = natural_names or [column.name for column in columns[:2]]
    else:
        primary_key = ["id"]
        if len(natural_names) == 1:
            columns[[column.name for column in columns].index(natural_names[0])].unique = True
        elif natural_names:
            unique_constraints.append(natural_names)
    for column in columns:
        if column.name in primary_key:
            column.nullable = False

    _add_money_currency(columns, values, taken, relation.name, built)
    if conventions.timestamps and not relation.junction:
        for stamp in ("created_at", "updated_at"):
            if stamp not in taken:
                columns.append(Column(name=stamp, logical_type="datetime", sqlite_type="TEXT", nullable=False,
                                      default=f"({NOW_UTC})",
                                      description="Set by the database when the row is written (UTC)."))
                taken.add(stamp)

    described = declared.description if declared and declared.description else relation.description
    entity = Entity(name=relation.name, description=described,
                    columns=columns, primary_key=primary_key, foreign_keys=foreign_keys,
                    unique_constraints=unique_constraints, strict=conventions.strict_tables,
                    source=sorted({relation.dataset}))
    seed_columns = [column.name for column in columns if column.name in values]
    rows = [[values[column][index] for column in seed_columns] for index in range(len(relation.rows))]
    rows = _parents_first(rows, seed_columns, foreign_keys, relation.name)
    return entity, SeedTable(columns=seed_columns, rows=rows)


def _data_column(relation: Relation, original: str, name: str, declared_field: DeclaredField | None,
                 built: BuiltEntities) -> Column:
    profile = relation.profiles.get(original)
    if profile is None:
        return Column(name=name, source=_source(relation, original))
    nullable = profile.null_count > 0 or profile.count == 0
    column = Column(name=name, logical_type=profile.logical_type, sqlite_type=profile.sqlite_type,
                    nullable=nullable, pii=profile.pii, currency=profile.currency, scale=profile.scale,
                    enum_values=profile.enum_values, source=_source(relation, original))
    if column.pii is None and _names_a_person(relation.name, original, name):
        column.pii = "name"
    present = [value for value in relation.values(original) if value is not None]
    if column.logical_type == "enum" and (column.pii or len(set(present)) == len(present)):
        # Names of people, or values that never repeat in this table, are no closed set of values.
        column.logical_type, column.enum_values = "text", None
    column.check = _check_for(column)
    subject = f"{relation.name}.{name}"
    if column.logical_type == "enum" and column.enum_values and not (declared_field and declared_field.type == "enum"):
        built.decisions.append(Decision(
            code="C101", subject=subject,
            message=f"{subject} contains {len(column.enum_values)} repeating values, so a CHECK allows only those, and "
                    f"a new value then needs a migration (to drop the CHECK: hint "
                    f'{{"types": {{"{relation.name}.{original}": "text"}}}})',
            evidence={"values": column.enum_values}, confidence=0.7))
    if not nullable and not (declared_field and "required" in declared_field.model_fields_set):
        built.not_null_from_samples.setdefault(relation.name, []).append(name)
    return column


# Words for entities that are people: their `name` columns hold personal names.
_PERSON_WORDS = frozenset({
    "user", "person", "people", "contact", "customer", "employee", "owner", "member", "rep", "agent",
    "student", "patient", "client", "lead", "buyer", "seller", "author", "manager", "staff", "guest",
})


def _names_a_person(table: str, *columns: str) -> bool:
    """Return True for ``users.name``, ``deals.owner_name`` and the like."""
    for column in columns:
        if column in ("name", "full_name", "display_name") and singularize(table) in _PERSON_WORDS:
            return True
        stem, _, last = column.rpartition("_")
        if last == "name" and stem and stem.split("_")[-1] in _PERSON_WORDS:
            return True
    return False


def _check_for(column: Column) -> str | None:
    name = quote_identifier(column.name)
    if column.logical_type == "boolean":
        return f"{name} IN (0, 1)"
    if column.logical_type == "json":
        # SQLite before 3.45 returns 0, not NULL, for json_valid(NULL), so NULL needs its own test.
        return f"{name} IS NULL OR json_valid({name})"
    if column.logical_type == "enum" and column.enum_values:
        return f"{name} IN ({', '.join(quote_string(value) for value in column.enum_values)})"
    return None


def _apply_declared(column: Column, declared_field: DeclaredField | None, source_values: list[Any],
                    values: list[Any], table: str, built: BuiltEntities) -> None:
    """Apply what discovery declared about a field; ``values`` are as stored, after key translation."""
    if declared_field is None:
        return
    column.description = declared_field.description or column.description
    missing = sum(value is None for value in source_values)
    if declared_field.required:
        if missing:
            built.warnings.append(Warning(
                code="W102", subject=f"{table}.{column.name}",
                message=f"{table}.{column.name} is declared required but {missing} sample rows have no value; "
                        "the column stays nullable",
                fix="fill the missing values in the source, or mark the field not required"))
        elif not any(value is None for value in values):
            # Values that match no parent row were cleared (warning W101), so the column stays nullable then.
            column.nullable = False
    elif "required" in declared_field.model_fields_set:
        column.nullable = True  # declared optional: a full sample does not make it NOT NULL
    if declared_field.unique and len({value for value in values if value is not None}) == len(
            [value for value in values if value is not None]):
        column.unique = True
    if declared_field.pii:
        column.pii = declared_field.pii if declared_field.pii in _PII_CLASSES else "other"  # type: ignore[assignment]
    if declared_field.type == "enum" and declared_field.examples and column.logical_type in ("enum", "text"):
        column.logical_type = "enum"
        column.enum_values = sorted({str(value) for value in declared_field.examples} | {
            str(value) for value in values if value is not None})
        column.check = _check_for(column)


def _declared_only_column(name: str, declared_field: DeclaredField, table: str) -> Column:
    logical, sqlite_type = _DECLARED_TYPES.get((declared_field.type or "text").lower(), ("text", "TEXT"))
    column = Column(name=name, logical_type=logical, sqlite_type=sqlite_type,  # type: ignore[arg-type]
                    nullable=not declared_field.required, unique=declared_field.unique,
                    description=declared_field.description, source=[f"declared field {table}.{name}"])
    if declared_field.pii:
        column.pii = declared_field.pii if declared_field.pii in _PII_CLASSES else "other"  # type: ignore[assignment]
    if logical == "enum" and declared_field.examples:
        column.enum_values = sorted(str(value) for value in declared_field.examples)
    column.check = _check_for(column)
    return column


def _apply_pii_hint(column: Column, hinted: Any) -> None:
    if hinted == "__unset__":
        return
    column.pii = hinted if hinted in _PII_CLASSES else None


def _translate(link: Link, values: list[Any], parent_plan: _KeyPlan, relation: Relation,
               built: BuiltEntities) -> list[Any]:
    """Map natural-key values in a foreign-key column to the parent's ``id`` values."""
    translated: list[Any] = []
    missing: set[str] = set()
    for value in values:
        if value is None:
            translated.append(None)
            continue
        found = parent_plan.lookup.get((_key_text(value),))
        if found is None:
            missing.add(_key_text(value))
        translated.append(found)
    if missing:
        built.warnings.append(Warning(
            code="W101", subject=f"{relation.name}.{link.child_columns[0]} -> {link.parent}",
            message=f"{len(missing)} value(s) of {relation.name}.{link.child_columns[0]} match no row of "
                    f"{link.parent} (for example {sorted(missing)[0]!r}); they are stored as NULL",
            fix=f"add the missing {link.parent} records to the samples, or forbid the relationship with a hint "
                f'{{"relationships": {{"forbid": ["{relation.name}.{link.child_columns[0]} -> {link.parent}"]}}}}'))
    return translated


def _foreign_key(relation: Relation, link: Link, name: str, column: Column,
                 plans: dict[str, _KeyPlan]) -> ForeignKey:
    if relation.junction:
        action = "CASCADE"
        why = f"a {relation.name} row links two rows and goes when either of them does"
    elif link.kind == "owned":
        action = "CASCADE"
        why = "owned rows are deleted with their parent"
    elif column.nullable:
        action = "SET NULL"
        why = "an optional reference is cleared when the parent goes"
    else:
        action = "RESTRICT"
        why = "an independent entity cannot be deleted while referenced"
    return ForeignKey(columns=[name], ref_table=link.parent, ref_columns=["id"], on_delete=action,  # type: ignore[arg-type]
                      reason=f"{link.reason}; ON DELETE {action}: {why}")


def _add_money_currency(columns: list[Column], values: dict[str, list[Any]], taken: set[str], table: str,
                        built: BuiltEntities) -> None:
    """Give a table with money columns a ``currency`` column when it has none."""
    currencies = sorted({column.currency for column in columns if column.logical_type == "money" and column.currency})
    if not any(column.logical_type == "money" for column in columns) or {"currency", "currency_code"} & taken:
        return
    default = currencies[0] if len(currencies) == 1 else None
    built.decisions.append(Decision(
        code="C103", subject=f"{table}.currency",
        message=f"{table} stores money in minor units, so it gets a currency column"
                + (f" defaulting to {default}, the currency the amounts were written in" if default else
                   "; the samples do not show the currency, so it stays NULL until set"),
        confidence=0.9 if default else 0.5))
    columns.append(Column(
        name="currency", logical_type="text", sqlite_type="TEXT", nullable=default is None,
        default=f"'{default}'" if default else None, check="length(currency) = 3",
        description="ISO 4217 currency of the money columns, which hold minor units (cents)."))
    taken.add("currency")


def _parents_first(rows: list[list[Any]], columns: list[str], foreign_keys: list[ForeignKey],
                   table: str) -> list[list[Any]]:
    """Order rows of a self-referencing table so that each row comes after the row it references."""
    self_columns = [columns.index(fk.columns[0]) for fk in foreign_keys if fk.ref_table == table]
    if not self_columns or "id" not in columns:
        return rows
    id_index = columns.index("id")
    placed: set[Any] = set()
    ordered: list[list[Any]] = []
    pending = list(rows)
    while pending:
        ready = [row for row in pending if all(row[index] is None or row[index] in placed or row[index] == row[
            id_index] for index in self_columns)]
        if not ready:
            ordered.extend(pending)  # a cycle among rows: the seed defers foreign keys
            break
        for row in ready:
            placed.add(row[id_index])
            ordered.append(row)
        pending = [row for row in pending if row[id_index] not in placed]
    return ordered


def _source(relation: Relation, column: str) -> list[str]:
    source = relation.column_sources.get(column)
    return [source] if source else []


def _apply_renames(built: BuiltEntities, hints: Hints) -> None:
    """Apply table and column renames from hints everywhere: entities, foreign keys and seed."""
    if not hints.rename:
        return
    tables = {old: new for old, new in hints.rename.items() if "." not in old}
    columns = {tuple(old.split(".", 1)): new for old, new in hints.rename.items() if "." in old}
    for entity in built.entities:
        old_table = entity.name
        for column in entity.columns:
            column.name = columns.get((old_table, column.name), column.name)
        entity.primary_key = [columns.get((old_table, c), c) for c in entity.primary_key]
        entity.unique_constraints = [[columns.get((old_table, c), c) for c in group]
                                     for group in entity.unique_constraints]
        for foreign_key in entity.foreign_keys:
            foreign_key.columns = [columns.get((old_table, c), c) for c in foreign_key.columns]
            foreign_key.ref_columns = [columns.get((foreign_key.ref_table, c), c) for c in foreign_key.ref_columns]
            foreign_key.ref_table = tables.get(foreign_key.ref_table, foreign_key.ref_table)
        seed = built.seed.pop(old_table)
        seed.columns = [columns.get((old_table, c), c) for c in seed.columns]
        entity.name = tables.get(old_table, old_table)
        built.seed[entity.name] = seed
        if old_table in built.junctions:
            built.junctions.discard(old_table)
            built.junctions.add(entity.name)
        if entity.name != old_table:
            built.decisions.append(Decision(code="H101", subject=entity.name,
                                            message=f"table {old_table} renamed {entity.name} by a hint"))
