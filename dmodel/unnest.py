"""First normal form: turn nested records into flat relations and links.

Rules, applied to every record of a dataset:

- A scalar becomes a column (its key in snake_case).
- A nested object with an identifier (``id`` or ``<name>_id``) is an entity of
  its own, stored once per identifier; the parent gets ``<key>_id``.
- Nested objects under two or more keys of one parent that share the same
  fields (a billing and a shipping address) are one entity, stored once per
  distinct content; the parent gets one role-named column per key.
- Any other nested object is flattened into ``<key>_<field>`` columns.
- An array of objects is a child table. Objects with identifiers are stored
  once; when the same identifiers appear under a second path (line items
  repeated under fulfillments), that path becomes a junction table.
- An array of scalars, or a text cell holding a ``;``-separated list, is a
  child table of values; when the values are identifiers of another relation
  the child table is a junction table to it (resolved by ``link_value_lists``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dmodel.conventions import pluralize, singularize, snake_case, unique_name
from dmodel.model import Decision
from dmodel.relation import Link, Relation, RelationSet

# A cell is read as a list when it contains this separator and the column
# looks like a list (see _is_list_column).
LIST_SEPARATOR = ";"
# Array keys too generic to name a table alone: prefixed with the parent (line_item_properties).
_GENERIC_CHILD_NAMES = frozenset({
    "properties", "attributes", "items", "values", "entries", "lines", "details", "options", "fields",
    "notes", "tags", "metadata", "data",
})
_ID_SUFFIXES = ("_id", "_uuid", "_key", "_code", "_number")


def is_identifier_name(name: str) -> bool:
    """Return True for column names that usually hold identifiers (``id``, ``deal_id``, ``sku``)."""
    name = snake_case(name)
    return name in ("id", "uuid", "sku") or name.endswith(("_id", "_uuid", "_ids"))


@dataclass
class _Builder:
    """Collects the rows of one relation while records are walked."""

    relation: Relation
    seen_keys: dict[Any, int] = field(default_factory=dict)
    owner_path: str | None = None


@dataclass
class _ValueList:
    """A child table of scalar values that may later turn into a junction table."""

    relation: str
    parent: str
    value_column: str
    source_key: str


class _Unnester:
    def __init__(self, result: RelationSet) -> None:
        self.result = result
        self.builders: dict[str, _Builder] = {}
        self.value_lists: list[_ValueList] = []
        self.links: set[tuple[str, tuple[str, ...], str, str]] = set()
        self.content_keyed: set[str] = set()
        self.nested_names: dict[tuple[str, str], str] = {}
        self.root_names: dict[str, str] = {}  # table name of each dataset's records -> dataset name

    # -- relations -----------------------------------------------------------

    def builder(self, name: str, dataset: str, path: str) -> _Builder:
        if name not in self.builders:
            relation = Relation(name=name, columns=[], rows=[], dataset=dataset)
            self.builders[name] = _Builder(relation=relation, owner_path=path)
            self.result.add(relation)
        return self.builders[name]

    def add_column(self, relation: Relation, column: str, source: str) -> None:
        if column not in relation.columns:
            relation.columns.append(column)
            relation.column_sources[column] = source

    def link(self, child: str, columns: list[str], parent: str, kind: str, reason: str) -> None:
        marker = (child, tuple(columns), parent, kind)
        if marker in self.links:
            return
        self.links.add(marker)
        parent_key = self.result.relations[parent].key or ["id"]
        self.result.links.append(Link(child=child, child_columns=list(columns), parent=parent,
                                      parent_columns=list(parent_key), kind=kind,  # type: ignore[arg-type]
                                      optional=kind == "reference", reason=reason))

    # -- records -------------------------------------------------------------

    def add_record(self, builder: _Builder, record: dict[str, Any], dataset: str, path: str,
                   key_column: str | None, extra: dict[str, Any] | None = None,
                   identity: Any = None) -> Any:
        """Store one record (once per identifier) and return its key value.

        ``identity`` replaces the key value for recognising a repeated record,
        for children identified by their parent and position.
        """
        relation = builder.relation
        row: dict[str, Any] = dict(extra or {})
        for column in row:
            self.add_column(relation, column, f"{path} (parent key)")
        nested_groups = _shared_shape_keys(record)
        deferred: list[tuple[str, Any]] = []

        for raw_key, value in record.items():
            column = snake_case(raw_key)
            source = f"{path}.{raw_key}"
            if isinstance(value, dict) and value:
                if raw_key in nested_groups or _identifier_key(value) is not None:
                    if raw_key in nested_groups:
                        target, child_id = self.add_shared_object(nested_groups[raw_key], value, dataset, source)
                        reason = f"'{raw_key}' objects share one shape and are stored once in {target}"
                    else:
                        target = pluralize(_entity_word(column))
                        target, child_id = self.add_entity_object(target, value, dataset, source)
                        reason = f"'{raw_key}' is a nested object with its own identifier"
                    row[f"{column}_id"] = child_id
                    self.add_column(relation, f"{column}_id", source)
                    self.link(relation.name, [f"{column}_id"], target, "reference", reason)
                else:
                    for sub_column, sub_value in _flatten(column, value):
                        row[sub_column] = sub_value
                        self.add_column(relation, sub_column, f"{source}.{sub_column[len(column) + 1:]}")
            elif isinstance(value, list):
                deferred.append((raw_key, value))
            else:
                if isinstance(value, dict):  # an empty object carries nothing
                    value = None
                row[column] = value
                self.add_column(relation, column, source)

        key_value = row.get(key_column) if key_column else None
        if identity is not None:
            key_value = identity
        elif key_column is None or key_value is None:
            key_column = key_column or "row_number"
            key_value = len(relation.rows) + 1
            row[key_column] = key_value
            self.add_column(relation, key_column, f"{path} (position)")
            relation.key = [key_column]
        if key_value in builder.seen_keys:
            # Same identifier again: merge fields a later copy adds, keep the first values.
            stored = relation.rows[builder.seen_keys[key_value]]
            for column, value in row.items():
                if stored.get(column) is None and value is not None:
                    stored[column] = value
        else:
            builder.seen_keys[key_value] = len(relation.rows)
            relation.rows.append(row)

        for raw_key, items in deferred:
            self.add_array(relation, key_column, key_value, raw_key, items, dataset, f"{path}.{raw_key}")
        return key_value

    def add_entity_object(self, name: str, value: dict[str, Any], dataset: str, path: str) -> Any:
        """Store an object with an identifier once per identifier; return its table and key value."""
        if name in self.content_keyed:
            # The entity is already stored by content (identifier-less copies came first).
            return self.add_shared_object(name, value, dataset, path)
        if self.root_names.get(name, dataset) != dataset:
            # Another dataset's root table has this name (a customers export beside customers nested in
            # orders): keep the nested copies apart, and let entity matching merge the two with evidence.
            taken = set(self.result.relations) | set(self.root_names)
            name = self.nested_names.setdefault((name, dataset), unique_name(name, taken))
        id_key = _identifier_key(value)
        builder = self.builder(name, dataset, path)
        builder.relation.key = [snake_case(id_key)] if id_key else builder.relation.key
        return name, self.add_record(builder, value, dataset, path, snake_case(id_key) if id_key else None)

    def add_shared_object(self, entity: str, value: dict[str, Any], dataset: str, path: str) -> Any:
        """Store an identifier-less object once per distinct content; return its table and key value."""
        if entity in self.builders and entity not in self.content_keyed:
            # Stored by identifier already: keep the content-keyed copies apart.
            entity = f"{entity}_by_content"
        self.content_keyed.add(entity)
        builder = self.builder(entity, dataset, path)
        relation = builder.relation
        relation.key = [snake_case(singularize(entity)) + "_key"] if relation.key is None else relation.key
        key_column = relation.key[0]
        content = json.dumps({snake_case(k): v for k, v in value.items()}, sort_keys=True, default=str)
        if content not in builder.seen_keys:
            row: dict[str, Any] = {key_column: len(builder.seen_keys) + 1}
            self.add_column(relation, key_column, f"{path} (one row per distinct content)")
            for column, sub_value in _flatten("", value):
                row[column] = sub_value
                self.add_column(relation, column, f"{path}.{column}")
            builder.seen_keys[content] = len(relation.rows)
            relation.rows.append(row)
        return entity, relation.rows[builder.seen_keys[content]][key_column]

    def add_array(self, parent: Relation, parent_key: str, parent_value: Any, raw_key: str,
                  items: list[Any], dataset: str, path: str) -> None:
        column = snake_case(raw_key)
        parent_fk = singularize(parent.name) + "_id"
        objects = [item for item in items if isinstance(item, dict)]
        if not items:
            return
        if objects and len(objects) == len(items):
            child_name = pluralize(column)
            if child_name in _GENERIC_CHILD_NAMES:
                child_name = f"{singularize(parent.name)}_{child_name}"
            id_key = _identifier_key_of_all(objects)
            builder = self.builder(child_name, dataset, path)
            owned_here = builder.owner_path == path
            for position, item in enumerate(objects, start=1):
                if id_key is not None and owned_here:
                    self.add_record(builder, item, dataset, path, snake_case(id_key),
                                    extra={parent_fk: parent_value})
                    builder.relation.key = [snake_case(id_key)]
                elif id_key is not None:
                    child_id = self.add_record(builder, item, dataset, path, snake_case(id_key))
                    self.add_junction_row(parent, parent_value, builder.relation, child_id, path)
                else:
                    self.add_record(builder, item, dataset, path, None,
                                    extra={parent_fk: parent_value, "position": position},
                                    identity=(parent_value, position))
                    builder.relation.key = [parent_fk, "position"]
            if owned_here:
                self.link(child_name, [parent_fk], parent.name, "owned",
                          f"array '{raw_key}' of {parent.name} records")
            return
        if objects:
            # Mixed arrays of objects and scalars are kept whole as JSON.
            parent.rows[-1][column] = json.dumps(items, sort_keys=True, ensure_ascii=False)
            self.add_column(parent, column, path)
            return
        self.add_scalar_list(parent, parent_value, column, [item for item in items if item is not None],
                             dataset, path)

    def add_junction_row(self, parent: Relation, parent_value: Any, child: Relation, child_value: Any,
                         path: str) -> None:
        name = f"{singularize(parent.name)}_{child.name}"
        left, right = singularize(parent.name) + "_id", singularize(child.name) + "_id"
        if right == left:
            right = left.removesuffix("_id") + "_id_2"  # a self junction: the second role gets its own column
        builder = self.builder(name, parent.dataset, path)
        junction = builder.relation
        junction.junction = True
        junction.key = [left, right]
        self.add_column(junction, left, f"{path} (parent key)")
        self.add_column(junction, right, f"{path} (identifier)")
        marker = (parent_value, child_value)
        if marker not in builder.seen_keys:
            builder.seen_keys[marker] = len(junction.rows)
            junction.rows.append({left: parent_value, right: child_value})
        self.link(name, [left], parent.name, "owned", f"{path} lists {child.name} of each {singularize(parent.name)}")
        self.link(name, [right], child.name, "reference", f"{path} repeats {child.name} stored under another path")

    def add_scalar_list(self, parent: Relation, parent_value: Any, column: str, values: list[Any],
                        dataset: str, path: str) -> None:
        parent_fk = singularize(parent.name) + "_id"
        value_column = singularize(column)
        name = f"{singularize(parent.name)}_{pluralize(value_column.removesuffix('_id'))}"
        builder = self.builder(name, dataset, path)
        relation = builder.relation
        relation.key = [parent_fk, value_column]
        self.add_column(relation, parent_fk, f"{path} (parent key)")
        self.add_column(relation, value_column, f"{path} (one row per list element)")
        for value in values:
            marker = (parent_value, value)
            if marker not in builder.seen_keys:
                builder.seen_keys[marker] = len(relation.rows)
                relation.rows.append({parent_fk: parent_value, value_column: value})
        if not any(item.relation == name for item in self.value_lists):
            self.value_lists.append(_ValueList(relation=name, parent=parent.name, value_column=value_column,
                                               source_key=path))
        self.link(name, [parent_fk], parent.name, "owned", f"list '{path}' of each {singularize(parent.name)}")


def unnest(datasets: list[Any], result: RelationSet | None = None) -> RelationSet:
    """Unnest loaded datasets (objects with ``name``, ``records``, ``entity``) into 1NF relations."""
    result = result if result is not None else RelationSet()
    unnester = _Unnester(result)
    taken = set(result.relations)
    roots = [unique_name(pluralize(snake_case(dataset.entity or dataset.name)), taken) for dataset in datasets]
    unnester.root_names = {name: dataset.name for name, dataset in zip(roots, datasets)}
    for name, dataset in zip(roots, datasets):
        records = [_split_list_cells(record, list_columns) for record, list_columns in
                   _with_list_columns(dataset.records)]
        key_column = _root_key(records)
        builder = unnester.builder(name, dataset.name, dataset.name)
        builder.relation.key = [key_column] if key_column else None
        builder.relation.description = getattr(dataset, "source", "") or ""
        for record in records:
            unnester.add_record(builder, record, dataset.name, dataset.name, key_column)
        result.decisions.append(Decision(
            code="N101", subject=name,
            message=f"dataset '{dataset.name}' becomes table {name}",
            evidence={"records": len(records), "key": key_column or "(row position)"}))
    _fill_missing_columns(result)
    link_value_lists(result, unnester.value_lists)
    return result


def link_value_lists(result: RelationSet, value_lists: list[_ValueList]) -> None:
    """Turn value lists whose values are identifiers of another relation into junction tables."""
    for value_list in value_lists:
        relation = result.relations[value_list.relation]
        values = {row[value_list.value_column] for row in relation.rows}
        target = _relation_with_key_values(result, values, exclude={relation.name, value_list.parent})
        if target is None:
            continue
        relation.junction = True
        result.links.append(Link(child=relation.name, child_columns=[value_list.value_column],
                                 parent=target.name, parent_columns=list(target.key or []),
                                 kind="reference", optional=False,
                                 reason=f"every value of {value_list.source_key} is a key of {target.name}"))
        result.decisions.append(Decision(
            code="N104", subject=relation.name,
            message=f"{relation.name} is a junction table between {value_list.parent} and {target.name}",
            evidence={"values": len(values), "matched_key": target.key}))


def _relation_with_key_values(result: RelationSet, values: set[Any], exclude: set[str]) -> Relation | None:
    if not values:
        return None
    normalized = {_normalize_key(value) for value in values}
    for relation in result.relations.values():
        if relation.name in exclude or not relation.key or len(relation.key) != 1:
            continue
        keys = {_normalize_key(row.get(relation.key[0])) for row in relation.rows}
        if normalized <= keys:
            return relation
    return None


def _normalize_key(value: Any) -> str:
    return str(value).strip()


def _fill_missing_columns(result: RelationSet) -> None:
    """Give every row every column (a key first seen in record 101 is NULL before it)."""
    for relation in result.relations.values():
        for row in relation.rows:
            for column in relation.columns:
                row.setdefault(column, None)


def _flatten(prefix: str, value: dict[str, Any]) -> list[tuple[str, Any]]:
    columns: list[tuple[str, Any]] = []
    for raw_key, sub_value in value.items():
        column = f"{prefix}_{snake_case(raw_key)}" if prefix else snake_case(raw_key)
        if isinstance(sub_value, dict):
            columns.extend(_flatten(column, sub_value))
        elif isinstance(sub_value, list):
            columns.append((column, json.dumps(sub_value, sort_keys=True, ensure_ascii=False)))
        else:
            columns.append((column, sub_value))
    return columns


def _identifier_key(value: dict[str, Any]) -> str | None:
    for key in value:
        if snake_case(key) == "id" and isinstance(value[key], (int, str)) and value[key] not in ("", None):
            return key
    return None


def _identifier_key_of_all(objects: list[dict[str, Any]]) -> str | None:
    keys = [_identifier_key(item) for item in objects]
    return keys[0] if keys and all(key == keys[0] for key in keys) else None


def _entity_word(column: str) -> str:
    """``default_address`` -> ``address``: a nested entity is named by its last word."""
    return column.rsplit("_", 1)[-1] if "_" in column else column


def _shared_shape_keys(record: dict[str, Any]) -> dict[str, str]:
    """Map keys of identifier-less nested objects that share one field set to the shared entity name."""
    shapes: dict[frozenset[str], list[str]] = {}
    for key, value in record.items():
        if isinstance(value, dict) and len(value) >= 2 and _identifier_key(value) is None:
            shapes.setdefault(frozenset(value), []).append(key)
    groups: dict[str, str] = {}
    for keys in shapes.values():
        if len(keys) >= 2:
            words = [snake_case(key).split("_") for key in keys]
            common = _common_suffix(words) or [_entity_word(snake_case(keys[0]))]
            for key in keys:
                groups[key] = pluralize("_".join(common))
    return groups


def _common_suffix(words: list[list[str]]) -> list[str]:
    suffix: list[str] = []
    for parts in zip(*(reversed(word) for word in words)):
        if len(set(parts)) != 1:
            break
        suffix.insert(0, parts[0])
    return suffix


def _root_key(records: list[dict[str, Any]]) -> str | None:
    """Return the column that identifies root records: unique, never empty, id-like."""
    if not records:
        return None
    candidates = []
    for key in records[0]:
        column = snake_case(key)
        if not (is_identifier_name(column) or column.endswith(_ID_SUFFIXES)):
            continue
        values = [record.get(key) for record in records]
        if any(value in (None, "") for value in values) or isinstance(values[0], (dict, list)):
            continue
        if len({str(value) for value in values}) == len(values):
            candidates.append(column)
    if not candidates:
        return None
    # Prefer `id`, then the first id-like column in file order.
    return "id" if "id" in candidates else candidates[0]


def _with_list_columns(records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], set[str]]]:
    list_columns = _list_columns(records)
    return [(record, list_columns) for record in records]


def _list_columns(records: list[dict[str, Any]]) -> set[str]:
    """Return text columns whose cells are ``;``-separated lists."""
    found: set[str] = set()
    if not records:
        return found
    keys = {key for record in records for key, value in record.items() if isinstance(value, str)}
    for key in keys:
        cells = [record.get(key) for record in records if isinstance(record.get(key), str) and record.get(key)]
        if not cells:
            continue
        with_separator = [cell for cell in cells if LIST_SEPARATOR in cell]
        if not with_separator:
            continue
        tokens = [token.strip() for cell in cells for token in cell.split(LIST_SEPARATOR)]
        # A list column contains short tokens without spaces that repeat across rows. Free text with a
        # stray ';' does not.
        short = all(token and len(token) <= 64 and " " not in token for token in tokens)
        if short and (is_identifier_name(key) or len(set(tokens)) < len(tokens)):
            found.add(key)
    return found


def _split_list_cells(record: dict[str, Any], list_columns: set[str]) -> dict[str, Any]:
    if not list_columns:
        return record
    record = dict(record)
    for key in list_columns:
        cell = record.get(key)
        if isinstance(cell, str):
            record[key] = [token.strip() for token in cell.split(LIST_SEPARATOR) if token.strip()]
    return record

