"""Mapping hints: the ``mapping`` object of a hints file, which answers the mapping's questions."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dmodel.errors import InputError
from dmodel.mapping.results import CUSTOM
from dmodel.standard import load_standard
from dmodel.standard.vocabulary import STAGE_SYNONYMS, TABLE_SYNONYMS


class MappingHints(BaseModel):
    """The ``mapping`` object of a hints file: answers to the mapping's questions."""

    model_config = ConfigDict(extra="forbid")

    entities: dict[str, str | None] = Field(
        default_factory=dict, description="Source entity -> CRM table, or null to leave the entity unmapped")
    fields: dict[str, str | None] = Field(
        default_factory=dict,
        description="'entity.Field' -> 'table.column', or 'custom_fields' (null means the same)")
    stages: dict[str, str | None] = Field(
        default_factory=dict, description="Source stage value -> standard stage code, or null to keep it unmapped")
    currency: str | None = Field(None, description="ISO 4217 code of amounts whose currency the data does not show")


def parse_mapping_hints(data: Any, file: str | None = None) -> MappingHints:
    """Validate the ``mapping`` object of a hints file against the CRM standard."""
    try:
        hints = MappingHints.model_validate(data or {})
    except ValidationError as error:
        first = error.errors()[0]
        place = "$.mapping" + "".join(f"[{part!r}]" if isinstance(part, str) and "." in part else f".{part}"
                                      for part in first["loc"])
        raise InputError(first["msg"], file=file, place=place,
                         fix="use the keys entities, fields, stages and currency, as the questions show") from None
    crm = load_standard("crm")
    tables = {entity.name: entity for entity in crm.entities}
    for source, table in hints.entities.items():
        if table is not None and table not in TABLE_SYNONYMS:
            raise InputError(f"unknown CRM table {table!r}", file=file, place=f"$.mapping.entities[{source!r}]",
                             fix=f"use one of {', '.join(TABLE_SYNONYMS)}, or null to leave it unmapped")
    for key, target in hints.fields.items():
        if "." not in key:
            raise InputError(f"field hint key {key!r} does not name an entity", file=file,
                             place=f"$.mapping.fields[{key!r}]", fix="write the key as 'entity.Field name'")
        if target in (None, CUSTOM):
            continue
        table, _, column = target.partition(".")
        if table not in tables or column not in {c.name for c in tables[table].columns}:
            raise InputError(f"unknown CRM column {target!r}", file=file, place=f"$.mapping.fields[{key!r}]",
                             fix="write 'table.column' of the CRM standard (see 'dmodel standard crm'), "
                                 "or 'custom_fields'")
    for value, stage in hints.stages.items():
        if stage is not None and stage not in STAGE_SYNONYMS:
            raise InputError(f"unknown pipeline stage {stage!r}", file=file, place=f"$.mapping.stages[{value!r}]",
                             fix=f"use one of {', '.join(STAGE_SYNONYMS)}, or null to keep the value unmapped")
    if hints.currency is not None and not re.fullmatch(r"[A-Z]{3}", hints.currency):
        raise InputError(f"currency {hints.currency!r} is not an ISO 4217 code", file=file,
                         place="$.mapping.currency", fix="write three capital letters, e.g. USD, EUR, GBP")
    return hints
