"""The seed builder: rows of every CRM table from the mapped sources, references resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dmodel.conventions import singularize, snake_case
from dmodel.mapping.hints import MappingHints
from dmodel.mapping.match import REFERENCES, Source, match_stage, person_like
from dmodel.mapping.results import (
    CUSTOM, DEFAULT_CURRENCY, QUESTION_BELOW, SEED_ORDER, UNMAPPED_BELOW, EntityMapping, FieldMapping, Row,
    StageMapping,
)
from dmodel.mapping.values import Unconvertible, convert, present, scalar, split_ids
from dmodel.model import Question
from dmodel.profile import profile_values
from dmodel.standard import load_standard
from dmodel.standard.vocabulary import (
    CHANNEL_BY_TYPE, CUSTOMER_KIND_WORDS, EMBEDDED_PARENTS, ENGAGEMENT_TYPE_BY_ENTITY, STAGE_STATUS, STAGE_SYNONYMS,
)


@dataclass
class _Parent:
    """Values of an embedded parent record found in one child record, with their source fields."""

    values: dict[str, Any]
    fields: dict[str, tuple[str, Any]]
    references: dict[str, tuple[str, Any]]


class SeedBuilder:
    """Builds the rows of every CRM table from the mapped sources, resolving references as it goes."""

    def __init__(self, hints: MappingHints) -> None:
        self.hints = hints
        self.rows: dict[str, list[Row]] = {table: [] for table in SEED_ORDER}
        self.by_external_id: dict[str, dict[str, int]] = {table: {} for table in SEED_ORDER}
        self.by_name: dict[str, dict[str, int]] = {table: {} for table in SEED_ORDER}
        self.customer_of_opportunity: dict[int, int | None] = {}
        self.stage_ids = {row[1]: row[0] for row in load_standard("crm").seed["pipeline_stages"].rows}
        self.stage_counts: dict[tuple[str, str, str], int] = {}
        self.warnings: list[dict[str, str]] = []
        self.questions: list[Question] = []
        self.currency_unknown: list[str] = []
        self.section_names: dict[str, set[str]] = {"initiatives": set(), "portfolio_resources": set()}

    # rows from sources

    def add_entity(self, source: Source, entity: EntityMapping) -> None:
        """Add a row for every record of a mapped source, and warn about records and values not moved."""
        table = entity.target
        mappings = {mapping.field: mapping for mapping in entity.fields}
        problems: dict[str, int] = {}
        incomplete = 0
        repeated: list[str] = []
        currency = self._currency(source, entity)
        for record in source.records:
            row = self._row(source, entity, record, mappings, currency, problems)
            if row is None:
                incomplete += 1
                continue
            _, added = self._insert(table, row)
            if not added:
                repeated.append(str(row.values["external_id"]))
        entity.rows_moved = len(source.records) - incomplete - len(repeated)

        if incomplete:
            needed = "a customer and a time" if table == "engagements" else "a name"
            self._warn("M204", entity.source, f"{incomplete} of {len(source.records)} records of {entity.source} "
                       f"were not moved to {table} because they lack {needed}",
                       "add the missing values to the source, or map a field to the missing column with a hint")
        if repeated:
            shown = ", ".join(repeated[:5]) + (", ..." if len(repeated) > 5 else "")
            self._warn("M203", entity.source, f"{len(repeated)} records of {entity.source} repeat a {table} "
                       f"id already taken ({shown}); the first record with each id is kept",
                       "map the entity's own id field to external_id with a hint, or merge the records")
        for field_name, count in sorted(problems.items()):
            self._warn("M201", f"{entity.source}.{field_name}",
                       f"{count} value(s) of {field_name!r} could not be stored in "
                       f"{mappings[field_name].target}; they are kept in custom_fields",
                       f"check the values, or map the field elsewhere with the hint "
                       f'{{"mapping": {{"fields": {{"{entity.source}.{field_name}": "custom_fields"}}}}}}')

    def _currency(self, source: Source, entity: EntityMapping) -> str | None:
        if entity.target != "opportunities":
            return None
        if any(mapping.target == "opportunities.currency" for mapping in entity.fields):
            return None
        amounts = [mapping.field for mapping in entity.fields if mapping.target == "opportunities.amount"]
        if amounts and source.profiles[amounts[0]].currency:
            return source.profiles[amounts[0]].currency
        if self.hints.currency:
            return self.hints.currency
        if amounts:
            self.currency_unknown.append(entity.source)
        return DEFAULT_CURRENCY

    def _row(self, source: Source, entity: EntityMapping, record: dict[str, Any],
             mappings: dict[str, FieldMapping], currency: str | None, problems: dict[str, int]) -> Row | None:
        table = entity.target
        row = Row({}, {}, {})
        parent = _Parent({}, {}, {})
        name_parts: list[tuple[int, str]] = []
        for field_name in source.fields:
            value = record.get(field_name)
            if not present(value):
                continue
            mapping = mappings[field_name]
            if mapping.pii:
                row.pii[field_name] = mapping.pii
            column = mapping.target.partition(".")[2]

            if mapping.role == "custom":
                row.custom[field_name] = value
            elif mapping.role.startswith("name_part"):
                name_parts.append((int(mapping.role.partition(":")[2]), str(value).strip()))
            elif mapping.role == "reference":
                parent.references[column] = (field_name, value)
                resolved = self._resolve(REFERENCES[column], value)
                if resolved is not None:
                    row.values[column] = resolved
                if resolved is None or len(split_ids(value)) > 1:
                    row.custom[field_name] = value
            elif column == "stage_id":
                self._stage_value(entity, field_name, value, row)
            else:
                target_table = mapping.target.partition(".")[0]
                try:
                    converted = convert(column, value, source.profiles[field_name], target_table)
                except Unconvertible:
                    row.custom[field_name] = value
                    problems[field_name] = problems.get(field_name, 0) + 1
                    continue
                if mapping.role == "embedded":
                    parent.values[column] = converted
                    parent.fields[column] = (field_name, value)
                else:
                    row.values[column] = converted
                    row.sources[column] = (field_name, value)

        if name_parts:
            row.values.setdefault("name", " ".join(text for _, text in sorted(name_parts)))
            row.values.setdefault("kind", "person")
        if parent.values:
            self._embedded_parent(table, row, parent)
        return self._complete(table, entity, row, currency)

    def _stage_value(self, entity: EntityMapping, field_name: str, value: Any, row: Row) -> None:
        text = str(value).strip()
        key = (entity.source, field_name, text)
        self.stage_counts[key] = self.stage_counts.get(key, 0) + 1
        stage, confidence, _ = match_stage(text, self.hints)
        if stage is not None and confidence >= UNMAPPED_BELOW:
            row.values["stage_id"] = self.stage_ids[stage]
            row.values.setdefault("status", STAGE_STATUS.get(stage, "open"))
        else:
            row.custom[field_name] = value

    def _embedded_parent(self, table: str, row: Row, parent: _Parent) -> None:
        """Link the row to the parent record whose fields it carries, creating the parent when it is new.

        A parent value that disagrees with the parent row already stored stays in the child's custom_fields,
        and so do parent values that cannot form a parent row (no name and no resolved reference).
        """
        parent_table, column = EMBEDDED_PARENTS[table]
        parent_id = row.values.get(column)
        if parent_id is None and "name" in parent.values:
            parent_id = self.by_name[parent_table].get(str(parent.values["name"]).casefold())
        if parent_id is None and "name" in parent.values:
            reference = parent.references.get(column)
            external = split_ids(reference[1])[0] if reference else None
            values = {"external_id": external, **parent.values} if external else dict(parent.values)
            kind = _customer_kind(parent.fields["name"][0])
            if kind and parent_table == "customers":
                values.setdefault("kind", kind)
            row.values[column] = self._insert(parent_table, Row(values, {}, {}))[0]
            if reference and len(split_ids(reference[1])) == 1:
                row.custom.pop(reference[0], None)
            return
        if parent_id is None:
            row.custom.update({field_name: value for field_name, value in parent.fields.values()})
            return

        row.values[column] = parent_id
        stored = self.rows[parent_table][parent_id - 1].values
        for key, value in parent.values.items():
            if stored.get(key) is None:
                stored[key] = value
            elif stored[key] != value:
                field_name, raw = parent.fields[key]
                row.custom[field_name] = raw

    def _complete(self, table: str, entity: EntityMapping, row: Row, currency: str | None) -> Row | None:
        values = row.values
        if table == "opportunities":
            values.setdefault("name", f"{entity.source} record {len(self.rows[table]) + 1}")
            values.setdefault("status", "open")
            if currency:
                values["currency"] = currency
            if values["status"] != "open" and "expected_close_date" in values:
                values.setdefault("actual_close_date", values["expected_close_date"])
            if values["status"] == "open" and "actual_close_date" in values:
                # The schema allows a close date only on a won or lost opportunity.
                field_name, raw = row.sources["actual_close_date"]
                row.custom[field_name] = raw
                del values["actual_close_date"]
        elif table == "engagements":
            if "type" not in values:
                words = [singularize(word) for word in snake_case(entity.source + " " + entity.label).split("_")]
                values["type"] = next((ENGAGEMENT_TYPE_BY_ENTITY[w] for w in words if w in ENGAGEMENT_TYPE_BY_ENTITY),
                                      "other")
            if "channel" not in values and values["type"] in CHANNEL_BY_TYPE:
                values["channel"] = CHANNEL_BY_TYPE[values["type"]]
            if "customer_id" not in values and values.get("opportunity_id") is not None:
                values["customer_id"] = self.customer_of_opportunity.get(values["opportunity_id"])
            if values.get("customer_id") is None or "occurred_at" not in values:
                return None
        elif table in ("customers", "initiatives", "portfolio_resources") and "name" not in values:
            return None
        if table == "customers" and "kind" not in values:
            kind = _customer_kind(entity.source + " " + entity.label)
            if kind:
                values["kind"] = kind
        return row

    def _insert(self, table: str, row: Row) -> tuple[int, bool]:
        """Add a row and return (its id, True); a row whose external_id is taken returns (that row's id, False)."""
        external = row.values.get("external_id")
        if external is not None and str(external) in self.by_external_id[table]:
            return self.by_external_id[table][str(external)], False
        row_id = len(self.rows[table]) + 1
        row.values = {"id": row_id, **row.values}
        self.rows[table].append(row)
        if external is not None:
            self.by_external_id[table][str(external)] = row_id
        if "name" in row.values:
            self.by_name[table].setdefault(str(row.values["name"]).casefold(), row_id)
        if table == "opportunities":
            self.customer_of_opportunity[row_id] = row.values.get("customer_id")
        return row_id, True

    def _resolve(self, table: str, value: Any) -> int | None:
        for item in split_ids(value):
            if item in self.by_external_id[table]:
                return self.by_external_id[table][item]
        return None

    def _warn(self, code: str, subject: str, message: str, fix: str) -> None:
        self.warnings.append({"code": code, "subject": subject, "message": message, "fix": fix})

    # rows from the discovery's initiatives and resources sections

    def add_sections(self, initiatives: list[Any], resources: list[Any] | dict[str, Any]) -> list[EntityMapping]:
        entities = []
        if initiatives:
            entities.append(self._section("$.initiatives", "discovery initiatives", "initiatives", initiatives,
                                          {"id": "external_id", "name": "name", "title": "name",
                                           "description": "description", "priority": "priority",
                                           "status": "status"}))
        items = _resource_items(resources)
        if items:
            entities.append(self._section("$.resources", "discovery resources", "portfolio_resources", items,
                                          {"id": "external_id", "type": "type", "name": "name", "plan": "plan"}))
        return entities

    def _section(self, path: str, label: str, table: str, items: list[Any], columns: dict[str, str]) -> EntityMapping:
        keys: list[str] = []
        moved = 0
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                item = {"name": item}
            keys.extend(key for key in item if key not in keys)
            row = _section_row(item, table, columns)
            if "name" not in row.values:
                self._warn("M204", f"{path}[{index}]", f"{label} item {index} has no name and was not moved",
                           "add a 'name' to the item")
                continue
            if table == "portfolio_resources":
                linked = self._resolve_customer(item.get("customer"))
                if linked is not None:
                    row.values["customer_id"] = linked
                    row.custom.pop("customer", None)

            row_id = self._insert_section(table, row, path, index)
            if row_id is None:
                continue
            moved += 1
            if table == "initiatives":
                self._link_customers(row_id, row, item.get("customers"), path, index)
        fields = [_section_field(path, table, key, columns) for key in keys]
        return EntityMapping(path, label, "", table, 1.0, f"the discovery document's {path[2:]} section",
                             len(items), moved, fields=fields)

    def _insert_section(self, table: str, row: Row, path: str, index: int) -> int | None:
        """Insert a row from a discovery section unless the table already has an item of that name (and type)."""
        name = str(row.values["name"]).casefold()
        unique = f"{row.values.get('type')}/{name}" if table == "portfolio_resources" else name
        if unique in self.section_names[table]:
            self._warn("M203", f"{path}[{index}]", f"{table} already has {row.values['name']!r}; the item was not "
                       "moved", "give each item its own name")
            return None
        self.section_names[table].add(unique)
        return self._insert(table, row)[0]

    def _resolve_customer(self, value: Any) -> int | None:
        if not present(value) or isinstance(value, (dict, list)):
            return None
        text = str(value).strip()
        return self.by_external_id["customers"].get(text) or self.by_name["customers"].get(text.casefold())

    def _link_customers(self, initiative_id: int, row: Row, customers: Any, path: str, index: int) -> None:
        if not isinstance(customers, list):
            return
        unresolved = []
        for value in customers:
            customer_id = self._resolve_customer(value)
            if customer_id is None:
                unresolved.append(value)
                continue
            link = {"customer_id": customer_id, "initiative_id": initiative_id}
            if link not in [existing.values for existing in self.rows["customer_initiatives"]]:
                self.rows["customer_initiatives"].append(Row(link, {}, {}))
        if unresolved:
            row.custom["customers"] = customers
            self._warn("M202", f"{path}[{index}].customers",
                       f"{len(unresolved)} customer(s) of the initiative match no customer id or name: "
                       f"{', '.join(map(str, unresolved))}", "use the customers' source ids or exact names")
        else:
            row.custom.pop("customers", None)

    # results

    def stage_mappings(self) -> list[StageMapping]:
        mappings = []
        for (entity, field_name, value), rows in self.stage_counts.items():
            stage, confidence, reason = match_stage(value, self.hints)
            if confidence < UNMAPPED_BELOW:
                stage = None
            mappings.append(StageMapping(entity, field_name, value, stage, confidence, reason, rows))
            if reason == "set by hint":
                continue
            options = list(STAGE_SYNONYMS)
            if stage is None:
                self.questions.append(Question(
                    code="M102", subject=f"{entity}.{field_name} = {value!r}",
                    question=f"Stage {value!r} of {entity} matches no standard stage; its opportunities have no "
                             "stage_id and keep the value in custom_fields. Which stage is it?",
                    options=[*options, "null (keep it unmapped)"],
                    hint={"mapping": {"stages": {value: None}}}))
            elif confidence < QUESTION_BELOW:
                self.questions.append(Question(
                    code="M103", subject=f"{entity}.{field_name} = {value!r}",
                    question=f"Stage {value!r} of {entity} was mapped to {stage} with low confidence "
                             f"({confidence}): {reason}. Is that right?",
                    options=options, hint={"mapping": {"stages": {value: stage}}}))
        for entity in self.currency_unknown:
            self.questions.append(Question(
                code="M104", subject=entity,
                question=f"The amounts of {entity} show no currency; {DEFAULT_CURRENCY} was assumed. Which "
                         "currency are they in?",
                options=[DEFAULT_CURRENCY, "EUR", "GBP"], hint={"mapping": {"currency": DEFAULT_CURRENCY}}))
        return mappings

    def table_rows(self) -> dict[str, list[Row]]:
        return {table: rows for table, rows in self.rows.items() if rows}


def _customer_kind(name: str) -> str | None:
    """Return company or person when a word of ``name`` (``Account``, ``Company Name``, ``contacts``) names one."""
    for word in snake_case(name).split("_"):
        kind = CUSTOMER_KIND_WORDS.get(singularize(word))
        if kind:
            return kind
    return None


def _resource_items(resources: list[Any] | dict[str, Any]) -> list[Any]:
    """Return the resources section as a list; a map such as {"zones": [...]} gives each item its key as type."""
    if not isinstance(resources, dict):
        return list(resources)
    items: list[Any] = []
    for key, value in resources.items():
        kind = singularize(snake_case(key))
        for item in value if isinstance(value, list) else [value]:
            items.append({"type": kind, **item} if isinstance(item, dict) else {"type": kind, "name": item})
    return items


def _section_row(item: dict[str, Any], table: str, columns: dict[str, str]) -> Row:
    """Build a row from one item of the discovery's initiatives or resources section."""
    row = Row({}, {}, {})
    for key, value in item.items():
        if not present(value):
            continue
        profile = profile_values(key, [scalar(value)])
        pii = profile.pii or ("name" if person_like(key) and isinstance(value, str) else None)
        if pii:
            row.pii[key] = pii
        column = columns.get(key)
        if column is None or column in row.values:
            row.custom[key] = value
            continue
        try:
            row.values[column] = convert(column, value, profile, table)
        except Unconvertible:
            row.custom[key] = value
    if table == "portfolio_resources":
        row.values.setdefault("type", "other")
    return row


def _section_field(path: str, table: str, key: str, columns: dict[str, str]) -> FieldMapping:
    if key in columns:
        return FieldMapping(key, f"{table}.{columns[key]}", 1.0, f"the discovery's {path[2:]} key {key!r}", "column")
    if key == "customers" and table == "initiatives":
        return FieldMapping(key, CUSTOM, 0.0, "customers named here are linked through customer_initiatives; "
                                              "names that match no customer are kept in custom_fields")
    return FieldMapping(key, CUSTOM, 0.0, f"no standard column for {key!r}; kept in custom_fields")
