"""The discovery document: what a discovery phase learned about a client.

Accepted with ``"format": "dmodel.discovery/v1"`` or without it. Common
synonyms are folded into the canonical keys (``tables`` and ``objects`` into
``entities``; ``columns``, ``attributes`` and ``properties`` into
``fields``). Keys the format does not know are kept in ``extra`` and listed
in the design report, never rejected.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DISCOVERY_FORMAT = "dmodel.discovery/v1"

_ENTITY_SYNONYMS = ("entities", "tables", "objects", "models")
_FIELD_SYNONYMS = ("fields", "columns", "attributes", "properties")
_DATASET_SYNONYMS = ("datasets", "samples")


def _fold_synonyms(data: Any, canonical: str, synonyms: tuple[str, ...]) -> Any:
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for synonym in synonyms:
        if synonym != canonical and synonym in data and canonical not in data:
            data[canonical] = data.pop(synonym)
    value = data.get(canonical)
    if isinstance(value, list):
        # Shorthand: a plain name stands for an item with only that name.
        data[canonical] = [{"name": item} if isinstance(item, str) else item for item in value]
    elif isinstance(value, dict):
        # {"name": {...}} maps become lists with the key as name.
        data[canonical] = [
            {"name": key, **item} if isinstance(item, dict) else {"name": key, "type": item}
            for key, item in value.items()
        ]
    return data


class _Open(BaseModel):
    """A part of the document that keeps unknown keys for the report."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Client(_Open):
    id: str | None = None
    name: str | None = None
    industry: str | None = None
    region: str | None = None
    notes: str | None = None


class DeclaredField(_Open):
    name: str
    type: str | None = None
    examples: list[Any] = Field(default_factory=list)
    required: bool = False
    unique: bool = False
    description: str = ""
    pii: bool | str = False


class DeclaredRelationship(_Open):
    target: str
    cardinality: Literal["1:1", "1:N", "N:1", "M:N"] = "N:1"
    optional: bool = True
    field: str | None = Field(None, description="Field of this entity that holds the reference, for N:1 and 1:1")
    label: str = ""
    on_delete: str | None = None


class DeclaredEntity(_Open):
    name: str
    description: str = ""
    fields: list[DeclaredField] = Field(default_factory=list)
    relationships: list[DeclaredRelationship] = Field(default_factory=list)
    key: list[str] | str | None = None

    @model_validator(mode="before")
    @classmethod
    def _synonyms(cls, data: Any) -> Any:
        return _fold_synonyms(data, "fields", _FIELD_SYNONYMS)


class Dataset(_Open):
    name: str | None = None
    source: str = ""
    entity: str | None = Field(None, description="Declared entity the records are samples of")
    records: list[Any] | None = None
    path: str | None = None
    format: str | None = None


class QueryPatternFact(_Open):
    entity: str
    filter: list[str] = Field(default_factory=list)
    sort: list[str] = Field(default_factory=list)
    frequency: str | None = None
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _synonyms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for synonym in ("filters", "filter_columns", "where"):
                if synonym in data and "filter" not in data:
                    data["filter"] = data.pop(synonym)
            for synonym in ("order_by", "sort_columns"):
                if synonym in data and "sort" not in data:
                    data["sort"] = data.pop(synonym)
            for key in ("filter", "sort"):
                if isinstance(data.get(key), str):
                    data[key] = [data[key]]
        return data


class TenancyFacts(_Open):
    tenants: int | None = Field(None, description="Expected number of tenants")
    data_volume_gb: float | None = Field(None, description="Expected data per tenant, in GB")
    isolation: str | None = None
    residency: list[str] | str | None = None
    cross_tenant_reporting: bool = False
    per_tenant_customization: bool = False


class Discovery(_Open):
    """A whole discovery document."""

    format: str | None = None
    client: Client = Field(default_factory=Client)
    entities: list[DeclaredEntity] = Field(default_factory=list)
    datasets: list[Dataset] = Field(default_factory=list)
    query_patterns: list[QueryPatternFact] = Field(default_factory=list)
    tenancy: TenancyFacts = Field(default_factory=TenancyFacts)
    resources: list[Any] | dict[str, Any] = Field(default_factory=list)
    initiatives: list[Any] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _synonyms(cls, data: Any) -> Any:
        data = _fold_synonyms(data, "entities", _ENTITY_SYNONYMS)
        return _fold_synonyms(data, "datasets", _DATASET_SYNONYMS)

    def unknown_keys(self) -> list[str]:
        """Return JSON paths of keys the format does not define, for the report."""
        found: list[str] = []
        _collect_extra(self, "$", found)
        return sorted(found)


def _collect_extra(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, BaseModel):
        for key in (node.model_extra or {}):
            found.append(f"{path}.{key}")
        for name in type(node).model_fields:
            _collect_extra(getattr(node, name), f"{path}.{name}", found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, BaseModel):
                _collect_extra(item, f"{path}[{index}]", found)


def looks_like_discovery(data: Any) -> bool:
    """Return True when a parsed JSON value is a discovery document rather than records."""
    if not isinstance(data, dict):
        return False
    if data.get("format") == DISCOVERY_FORMAT:
        return True
    markers = set(_ENTITY_SYNONYMS[:3]) | {"datasets", "query_patterns", "tenancy", "client"}
    if len(markers & set(data)) >= 1 and any(
            isinstance(data.get(key), (list, dict)) for key in ("entities", "tables", "objects", "datasets")):
        return True
    # A document with only discovery sections (client, tenancy, resources...) and no entities yet.
    sections = {"client", "tenancy", "resources", "initiatives", "query_patterns", "samples", "datasets"}
    return bool(data) and set(data) <= sections and all(isinstance(value, (dict, list)) for value in data.values())
