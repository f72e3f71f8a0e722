"""The entity model: the one representation between design and generation.

``design`` writes it as ``model.json``; ``generate`` reads it. It is
versioned by ``format`` and its JSON Schema is published in ``schemas/``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL_FORMAT = "dmodel.model/v1"

LogicalType = Literal[
    "integer", "decimal", "money", "real", "boolean", "date", "datetime", "email",
    "url", "phone", "uuid", "json", "enum", "text", "blob",
]
SqliteType = Literal["INTEGER", "REAL", "TEXT", "BLOB", "ANY"]
PiiClass = Literal["email", "name", "phone", "address", "secret", "other"]
ReferentialAction = Literal["CASCADE", "RESTRICT", "SET NULL", "SET DEFAULT", "NO ACTION"]
Cardinality = Literal["1:1", "1:N", "M:N"]
TenancyMode = Literal["none", "row-level", "database-per-tenant"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Column(_Strict):
    """One column of a table, with the type both as meant and as stored."""

    name: str
    logical_type: LogicalType = "text"
    sqlite_type: SqliteType = "TEXT"
    nullable: bool = True
    default: str | None = Field(None, description="SQL expression, written as it goes after DEFAULT")
    check: str | None = Field(None, description="SQL expression for a CHECK constraint on this column")
    unique: bool = False
    pii: PiiClass | None = None
    currency: str | None = Field(None, description="ISO 4217 code of a money column stored in minor units")
    scale: int | None = Field(None, description="Decimal places a money or decimal value was scaled by")
    enum_values: list[str] | None = None
    description: str = ""
    source: list[str] = Field(default_factory=list, description="Where the values came from: dataset and field")


class ForeignKey(_Strict):
    """A foreign key from ``columns`` of this table to ``ref_columns`` of ``ref_table``."""

    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    on_delete: ReferentialAction = "RESTRICT"
    on_update: ReferentialAction = "NO ACTION"
    reason: str = ""


class Index(_Strict):
    """An index with the reason it exists (a foreign key, a query pattern, a natural key)."""

    name: str
    columns: list[str]
    unique: bool = False
    where: str | None = None
    reason: str = ""
    query: str | None = Field(None, description="The query the index serves, when it comes from a query pattern")


class Trigger(_Strict):
    """A trigger whose body is one statement, the form D1's statement splitter accepts."""

    name: str
    timing: Literal["BEFORE", "AFTER"] = "BEFORE"
    event: Literal["INSERT", "UPDATE", "DELETE"]
    when: str | None = Field(None, description="SQL condition after WHEN; the body runs only when it holds")
    body: str = Field(description="One SQL statement without the final semicolon, e.g. SELECT RAISE(ABORT, 'm')")
    reason: str = ""


class Entity(_Strict):
    """A table."""

    name: str
    description: str = ""
    columns: list[Column]
    primary_key: list[str]
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    unique_constraints: list[list[str]] = Field(default_factory=list)
    indexes: list[Index] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    strict: bool = True
    without_rowid: bool = False
    tenant_scoped: bool = True
    source: list[str] = Field(default_factory=list)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name}")


class Relationship(_Strict):
    """A relationship between two entities, as a modeller would draw it."""

    parent: str
    child: str
    cardinality: Cardinality
    optional: bool = True
    columns: list[str] = Field(default_factory=list, description="Foreign-key columns in the child (or junction) table")
    junction: str | None = Field(None, description="Junction table of an M:N relationship")
    label: str = ""


class Decision(_Strict):
    """A design decision and the evidence for it."""

    code: str
    subject: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    confidence: float = 1.0


class Question(_Strict):
    """Open question: something the data cannot settle, with the hint that settles it."""

    code: str
    subject: str
    question: str
    options: list[str] = Field(default_factory=list)
    hint: dict[str, Any] = Field(default_factory=dict, description="A hints-file fragment that answers the question")


class Warning(_Strict):  # noqa: A001 - the report's term
    """A warning with a stable code and the fix."""

    code: str
    subject: str
    message: str
    fix: str = ""


class Report(_Strict):
    """Everything the design step decided, could not decide, or warns about."""

    decisions: list[Decision] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    warnings: list[Warning] = Field(default_factory=list)
    profiles: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict, description="Column profiles per dataset: type, nulls, distinct values, examples")
    unknown_keys: list[str] = Field(default_factory=list)


class QueryPattern(_Strict):
    """An expected read, which drives index advice."""

    entity: str
    filter: list[str] = Field(default_factory=list)
    sort: list[str] = Field(default_factory=list)
    frequency: str | None = None
    description: str = ""


class Tenancy(_Strict):
    """Tenant isolation: the mode, the tenant table and column, and the tables all tenants share."""

    mode: TenancyMode = "none"
    tenant_table: str = "tenants"
    tenant_column: str = "tenant_id"
    global_tables: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class Conventions(_Strict):
    """Naming and typing conventions the model was built with."""

    id_type: Literal["INTEGER", "TEXT"] = "INTEGER"
    strict_tables: bool = True
    timestamps: bool = True


class SeedTable(_Strict):
    """Sample rows for one table, values as stored (money in minor units, booleans 0/1)."""

    columns: list[str]
    rows: list[list[Any]]


class Model(_Strict):
    """The entity model written to ``model.json``."""

    format: Literal["dmodel.model/v1"] = MODEL_FORMAT
    name: str
    client: dict[str, Any] = Field(default_factory=dict)
    conventions: Conventions = Field(default_factory=Conventions)
    entities: list[Entity] = Field(description="Tables in creation order: every table after the tables it references")
    relationships: list[Relationship] = Field(default_factory=list)
    query_patterns: list[QueryPattern] = Field(default_factory=list)
    tenancy: Tenancy = Field(default_factory=Tenancy)
    seed: dict[str, SeedTable] = Field(default_factory=dict)
    renames: dict[str, str] = Field(
        default_factory=dict,
        description="Rename hints the model was designed with ('old_table': 'new', 'table.old': 'new'); "
                    "generate turns them into RENAME statements instead of a drop and an add")
    report: Report = Field(default_factory=Report)

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(f"model has no table {name}")

    def to_json(self) -> str:
        """Return the canonical JSON text: sorted keys nowhere, two-space indent, LF, final newline."""
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
