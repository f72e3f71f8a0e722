"""Mapping: a client's discovery data onto the standard CRM model.

Each source entity (a dataset, or a declared entity without samples) is
matched to one CRM table. Each of its fields is matched to a column of that
table, to a column of the table's embedded parent (as when a deals export
repeats the company's name in every row), or to ``custom_fields``. Every
match has a confidence from 0 to 1 and the reason: the name or synonym that
matched, and whether the values agree with the column's type, stage names
or enum values. Pipeline stage values are matched to the standard stages
one by one.

The modules follow the steps: ``match`` scores tables, columns and stages,
``values`` converts source values, ``seed`` builds the rows, ``results``
contains the outcome and renders seed rows, ``report`` writes
``mapping.md``, and ``hints`` reads the answers to the questions.

Nothing is dropped: a field without a standard column, a value that does
not convert, and a reference that does not resolve all land in the row's
JSON ``custom_fields``. Matches below ``QUESTION_BELOW`` become questions
that name the hint settling them. The seed moves the sample records into
the standard tables, foreign keys resolved, personal data masked unless the
caller turns masking off.
"""

from __future__ import annotations

from dmodel.loaders import LoadedInput
from dmodel.mapping.hints import MappingHints, parse_mapping_hints
from dmodel.mapping.match import Matcher, Source, hint_key, load_sources, map_entity, match_stage
from dmodel.mapping.report import render_markdown
from dmodel.mapping.results import (
    CUSTOM, MAPPING_FORMAT, QUESTION_BELOW, SEED_ORDER, UNMAPPED_BELOW, EntityMapping, FieldMapping, MappingResult,
    StageMapping, custom_fields_text,
)
from dmodel.mapping.seed import SeedBuilder
from dmodel.mapping.values import present
from dmodel.model import Question
from dmodel.standard import load_standard, standard_version

__all__ = [
    "CUSTOM", "MAPPING_FORMAT", "QUESTION_BELOW", "UNMAPPED_BELOW", "EntityMapping", "FieldMapping", "MappingHints",
    "MappingResult", "StageMapping", "custom_fields_text", "map_discovery", "match_stage", "parse_mapping_hints",
    "render_markdown",
]


def map_discovery(loaded: LoadedInput, hints: MappingHints | None = None) -> MappingResult:
    """Map every source entity and stage value onto the CRM standard and build the seed that moves the records."""
    hints = hints or MappingHints()
    sources = load_sources(loaded)

    first_pass = [map_entity(source, Matcher(hints, {})) for source in sources]
    known_ids = _known_ids(sources, first_pass)
    entities = [map_entity(source, Matcher(hints, known_ids)) for source in sources]

    builder = SeedBuilder(hints)
    by_table_order = sorted(zip(sources, entities), key=lambda pair: SEED_ORDER.index(pair[1].target)
                            if pair[1].target else len(SEED_ORDER))
    for source, entity in by_table_order:
        if entity.target is not None:
            builder.add_entity(source, entity)
    entities.extend(builder.add_sections(loaded.discovery.initiatives, loaded.discovery.resources))

    stages = builder.stage_mappings()
    questions = [*_field_questions(entities), *_entity_questions(entities), *builder.questions]
    client = loaded.discovery.client
    return MappingResult(standard="crm", version=standard_version(load_standard("crm")),
                         name=f"crm mapping of {client.name or client.id or 'the client'}",
                         client=client.model_dump(exclude_none=True), entities=entities, stages=stages,
                         questions=questions, warnings=builder.warnings, rows=builder.table_rows())


def _known_ids(sources: list[Source], entities: list[EntityMapping]) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for source, entity in zip(sources, entities):
        for mapping in entity.fields:
            if mapping.target == f"{entity.target}.external_id":
                values = {str(record[mapping.field]).strip() for record in source.records
                          if present(record.get(mapping.field))}
                known.setdefault(entity.target, set()).update(values)
    return known


def _field_questions(entities: list[EntityMapping]) -> list[Question]:
    questions = []
    for entity in entities:
        for mapping in entity.fields:
            if mapping.role == "custom" or mapping.confidence >= QUESTION_BELOW or mapping.reason == "set by hint":
                continue
            key = hint_key(entity.source, mapping.field)
            questions.append(Question(
                code="M101", subject=key,
                question=f"Does {entity.source} field {mapping.field!r} belong in {mapping.target}? The match is "
                         f"weak ({mapping.confidence}): {mapping.reason}.",
                options=[mapping.target, CUSTOM],
                hint={"mapping": {"fields": {key: mapping.target}}}))
    return questions


def _entity_questions(entities: list[EntityMapping]) -> list[Question]:
    questions = []
    for entity in entities:
        if entity.reason in ("set by hint", "left unmapped by hint") or entity.confidence >= QUESTION_BELOW:
            continue
        options = [alternative["table"] for alternative in entity.alternatives]
        if entity.target:
            options.insert(0, entity.target)
        suggestion = entity.target or (options[0] if options else "customers")
        state = f"maps to {entity.target} only weakly ({entity.confidence})" if entity.target else \
            "maps to no CRM table, so its records are not moved"
        questions.append(Question(
            code="M105", subject=entity.source,
            question=f"Source entity {entity.source!r} ({entity.label}) {state}. Which CRM table holds its records?",
            options=[*options, "null (leave unmapped)"],
            hint={"mapping": {"entities": {entity.source: suggestion}}}))
    return questions
