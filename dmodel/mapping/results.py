"""Results of a mapping: matches of entities, fields and stages, and the rows that seed the standard tables."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from dmodel.conventions import quote_identifier
from dmodel.emit.seed import render_seed, sql_literal
from dmodel.mask import mask_value
from dmodel.model import Column, Model, Question, SeedTable
from dmodel.standard import load_standard

MAPPING_FORMAT = "dmodel.mapping/v1"
# A match below this confidence is applied but listed as a question.
QUESTION_BELOW = 0.6
# A field whose best match is below this confidence goes to custom_fields.
UNMAPPED_BELOW = 0.35
# An entity whose best table scores below this is not mapped.
ENTITY_UNMAPPED_BELOW = 0.35
# Values per field that are checked against a column's type; the seed still converts every value.
EVIDENCE_SAMPLE = 1000
CUSTOM = "custom_fields"
DEFAULT_CURRENCY = "USD"
# Tables in the order their rows are built, parents first.
SEED_ORDER = ["customers", "initiatives", "customer_initiatives", "pipeline_stages", "opportunities",
              "engagements", "portfolio_resources"]


@dataclass
class FieldMapping:
    """The target of one source field, the confidence of the match and the reason for it."""

    field: str
    # "table.column", or "custom_fields" for a field kept in the row's JSON custom_fields.
    target: str
    confidence: float
    reason: str
    # column (of the entity's table), reference (a foreign key resolved through source ids), embedded (a column
    # of the parent table whose records the source repeats inline), name_part:N (Nth part of a person's name)
    # or custom.
    role: str = "custom"
    pii: str | None = None


@dataclass
class StageMapping:
    """One source stage value and the standard stage it maps to (``None`` when unmapped)."""

    entity: str
    field: str
    value: str
    stage: str | None
    confidence: float
    reason: str
    rows: int


@dataclass
class EntityMapping:
    """One source entity, the CRM table it maps to and the mapping of each of its fields."""

    source: str
    label: str
    file: str
    target: str | None
    confidence: float
    reason: str
    rows: int
    rows_moved: int = 0
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    fields: list[FieldMapping] = field(default_factory=list)


@dataclass
class Row:
    """One row for a CRM table: column values, the source fields kept in custom_fields, their PII classes."""

    values: dict[str, Any]
    custom: dict[str, Any]
    pii: dict[str, str]
    # Source field and raw value behind each column value read straight from the source.
    sources: dict[str, tuple[str, Any]] = field(default_factory=dict)


@dataclass
class MappingResult:
    """The whole mapping: per-entity and per-stage matches, questions, warnings and the rows to seed."""

    standard: str
    version: str
    name: str
    client: dict[str, Any]
    entities: list[EntityMapping]
    stages: list[StageMapping]
    questions: list[Question]
    warnings: list[dict[str, str]]
    rows: dict[str, list[Row]] = field(repr=False)

    @property
    def row_counts(self) -> dict[str, int]:
        counts = {table: len(rows) for table, rows in self.rows.items()}
        counts["pipeline_stages"] = len(load_standard("crm").seed["pipeline_stages"].rows)
        return {table: counts[table] for table in SEED_ORDER if table in counts}

    def seed_model(self, mask: bool = True) -> Model:
        """Return the CRM model with the mapped rows as its seed; custom_fields values masked when ``mask`` is on.

        The standard pipeline stages are not part of it: ``seed_sql`` writes them separately.
        """
        model = load_standard("crm")
        model.name = self.name
        model.seed = {table: seed_table(model, table, self.rows[table], mask)
                      for table in SEED_ORDER if table in self.rows}
        return model

    def seed_sql(self, mask: bool = True) -> str:
        """Return ``mapped_seed.sql``: the standard stages, then every mapped row, parents first.

        The stages are written with INSERT OR IGNORE, so the file applies both on its own and after the
        standard model's ``seed.sql``, which contains the same stage rows.
        """
        header, _, body = render_seed(self.seed_model(mask), mask=mask).partition("\n\n")
        stages = load_standard("crm").seed["pipeline_stages"]
        rows = ",\n".join("  (" + ", ".join(sql_literal(value) for value in row) + ")" for row in stages.rows)
        statement = (f"-- The standard pipeline stages; rows already applied from the standard's seed.sql are "
                     f"kept.\nINSERT OR IGNORE INTO pipeline_stages "
                     f"({', '.join(quote_identifier(name) for name in stages.columns)}) VALUES\n{rows};")
        return header + "\n\n" + statement + ("\n\n" + body if body else "\n")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MAPPING_FORMAT,
            "standard": self.standard,
            "standard_version": self.version,
            "client": self.client,
            "entities": [asdict(entity) for entity in self.entities],
            "stages": [asdict(stage) for stage in self.stages],
            "questions": [question.model_dump(mode="json") for question in self.questions],
            "warnings": self.warnings,
            "rows": self.row_counts,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def seed_table(model: Model, table: str, rows: list[Row], mask: bool) -> SeedTable:
    """Return one table's seed; a NOT NULL column a row leaves empty gets the column's literal default."""
    entity = model.entity(table)
    columns = [column for column in entity.columns
               if column.name == CUSTOM or any(column.name in row.values for row in rows)]
    defaults = {column.name: _literal_default(column) for column in columns if not column.nullable}
    seed_rows = []
    for row in rows:
        values = []
        for column in columns:
            if column.name == CUSTOM:
                values.append(custom_fields_text(table, row.custom, row.pii, mask))
            elif row.values.get(column.name) is None:
                values.append(defaults.get(column.name))
            else:
                values.append(row.values[column.name])
        seed_rows.append(values)
    return SeedTable(columns=[column.name for column in columns], rows=seed_rows)


def _literal_default(column: Column) -> Any:
    """Return a column's DEFAULT when it is a plain string or integer literal, else None."""
    default = (column.default or "").strip()
    if re.fullmatch(r"'(?:[^']|'')*'", default):
        return default[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", default):
        return int(default)
    return None


def custom_fields_text(table: str, custom: dict[str, Any], pii: dict[str, str], mask: bool) -> str:
    """Return the JSON text of one row's custom_fields, personal values masked when ``mask`` is on."""
    values = {}
    for key, value in custom.items():
        if mask and key in pii:
            value = mask_value(table, f"{CUSTOM}.{key}", pii[key], value)  # type: ignore[arg-type]
        values[key] = json_safe(value)
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), allow_nan=False)


def json_safe(value: Any) -> Any:
    """Return ``value`` with NaN and infinite floats written as text, which JSON (and json_valid) reject."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value
