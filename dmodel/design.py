"""The design pipeline: loaded discovery data in, the entity model out.

Stages, in order: ``unnest`` (1NF), ``profile`` (types), ``decompose``
(3NF), declared entities merged in, ``entities`` (tables, keys, foreign
keys, conventions), ``graph`` (creation order, relationships), indexes
and the seed. Each stage adds its decisions, questions and warnings to
the report.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from dmodel import decompose, entities, indexes, tenancy
from dmodel.conventions import singularize, snake_case, table_name
from dmodel.discovery import DeclaredEntity, TenancyFacts
from dmodel.errors import InputError
from dmodel.graph import build_graph, creation_order, cycles
from dmodel.hints import Hints
from dmodel.loaders import LoadedInput
from dmodel.model import (Conventions, Decision, Model, QueryPattern, Question, Relationship, Report,
                          Tenancy, Warning)
from dmodel.profile import convert_value, profile_values
from dmodel.references import apply_relationship_hints, infer_references
from dmodel.relation import Link, Relation, RelationSet
from dmodel.unnest import unnest

log = logging.getLogger(__name__)

# D1 rejects tables with more columns than this.
D1_MAX_COLUMNS = 100


def design(loaded: LoadedInput, hints: Hints | None = None,
           conventions: Conventions | None = None) -> Model:
    """Run the whole design pipeline and return the entity model."""
    hints = hints or Hints()
    conventions = conventions or Conventions()
    discovery = loaded.discovery

    for dataset in loaded.datasets:
        if not any(isinstance(record, dict) and record for record in dataset.records):
            raise InputError(f"dataset '{dataset.name}' has records but none of them has a field", file=dataset.file,
                             fix="give the records fields, or leave the file out of the input")
    relations = unnest(loaded.datasets)
    log.info("unnested %d datasets into %d relations", len(loaded.datasets), len(relations.relations))
    profile_relations(relations, hints)
    relations = _normalize(relations, hints)
    declared = merge_declared(relations, discovery.entities)
    infer_references(relations, hints)
    apply_relationship_hints(relations, hints)

    built = entities.build_entities(relations, declared, hints, conventions)
    built.warnings.extend(unmatched_hints(hints, relations, declared))
    graph = build_graph(built.entities)
    order = creation_order(graph)
    by_name = {entity.name: entity for entity in built.entities}
    ordered = [by_name[name] for name in order]

    report = Report(decisions=[*relations.decisions, *built.decisions],
                    questions=[*relations.questions, *built.questions],
                    warnings=[*relations.warnings, *built.warnings],
                    profiles=_profiles(relations),
                    unknown_keys=discovery.unknown_keys())
    for cycle in cycles(graph):
        report.warnings.append(Warning(
            code="W301", subject=", ".join(cycle),
            message=f"tables {', '.join(cycle)} reference each other in a cycle",
            fix="the seed inserts them with deferred foreign keys; check that one of the references is optional"))

    def column_name(table: str, column: str) -> str:
        # Query patterns name columns as discovery did; follow the renames the design made.
        column = built.column_renames.get((table, snake_case(column)), snake_case(column))
        return hints.rename.get(f"{table}.{column}", column)

    patterns = [QueryPattern(entity=hints.rename.get(table_name(fact.entity), table_name(fact.entity)),
                             filter=[column_name(table_name(fact.entity), c) for c in fact.filter],
                             sort=[column_name(table_name(fact.entity), c) for c in fact.sort],
                             frequency=fact.frequency, description=fact.description)
                for fact in discovery.query_patterns]
    index_report = indexes.advise(ordered, patterns)
    report.decisions.extend(index_report.decisions)
    report.warnings.extend(index_report.warnings)

    for entity in ordered:
        if len(entity.columns) > D1_MAX_COLUMNS:
            raise InputError(
                f"table {entity.name} would have {len(entity.columns)} columns; D1 allows at most "
                f"{D1_MAX_COLUMNS} per table",
                file=_source_file(loaded, entity.source), place=f"table {entity.name}",
                fix=f'split it with a hint such as {{"split": [{{"table": "{entity.name}", '
                    f'"columns": [...], "name": "NEW_TABLE"}}]}}, or drop columns from the input')

    client = discovery.client.model_dump(exclude_none=True)
    name = snake_case(client.get("id") or client.get("name") or _first_dataset_name(loaded))
    model = Model(name=name, client=client, conventions=conventions, entities=ordered, renames=dict(hints.rename),
                  relationships=relationships(ordered, built.junctions),
                  query_patterns=patterns, tenancy=Tenancy(mode="none"),
                  seed=built.seed_in_order(order), report=report)
    return choose_tenancy(model, discovery.tenancy, hints)


def choose_tenancy(model: Model, facts: TenancyFacts, hints: Hints) -> Model:
    """Record the tenant isolation to generate: the hint's, else the one recommended from the facts."""
    if hints.tenancy is not None:
        mode, reasons = hints.tenancy, ["chosen by the hints file"]
    elif not facts.model_fields_set:
        return model  # the discovery has no tenancy facts, so the schema serves one client
    else:
        recommendation = tenancy.recommend(facts)
        mode, reasons = recommendation.mode, recommendation.reasons()
        model.report.questions.extend(recommendation.questions)
        model.report.warnings.extend(recommendation.warnings)
    if mode == "none":
        return model
    chosen = tenancy.choose(model, mode, reasons)
    stated = {"separate": "database-per-tenant", "shared": "row-level"}.get(
        tenancy.isolation_word(facts.isolation) or "") == mode
    other = "database-per-tenant" if mode == "row-level" else "row-level"
    chosen.report.decisions.append(Decision(
        code="T100", subject="tenancy", message=f"tenant isolation: {mode}; {reasons[0]}",
        evidence={"reasons": reasons[1:]},
        confidence=1.0 if hints.tenancy or stated else 0.8))
    if hints.tenancy is None and not stated:
        chosen.report.questions.append(Question(
            code="Q201", subject="tenancy",
            question=f"the discovery facts recommend {mode} tenant isolation; is that the client's choice?",
            options=[mode, other, "none"], hint={"tenancy": mode}))
    return chosen


def unmatched_hints(hints: Hints, relations: RelationSet,
                    declared: dict[str, DeclaredEntity] | None = None) -> list[Warning]:
    """Warn about hints that name a table or column the design does not have, so a typo is not silent."""
    tables = set(relations.relations)
    columns = {f"{name}.{column}" for name, relation in relations.relations.items() for column in relation.columns}
    columns |= {f"{name}.{snake_case(item.name)}" for name, entity in (declared or {}).items() for item in entity.fields}
    warnings = []
    named = [("keys", key) for key in hints.keys] + [("rename", key) for key in hints.rename]
    named += [("pii", key) for key in hints.pii] + [("types", key) for key in hints.types]
    for section, key in named:
        known = columns if "." in key else tables
        if key not in known:
            warnings.append(Warning(
                code="W501", subject=key, message=f"hint '{section}' names {key}, which the design does not have",
                fix="use a table or table.column name from model.json (names before any rename)"))
    return warnings


def _normalize(relations: RelationSet, hints: Hints) -> RelationSet:
    """Decompose relations to 3NF and merge the same entity across datasets."""
    relations = decompose.normalize(relations, hints)
    return decompose.match_entities(relations)


def profile_relations(relations: RelationSet, hints: Hints) -> None:
    """Profile every column of every relation and convert its values to the stored form."""
    for relation in relations.relations.values():
        for column in relation.columns:
            forced = hints.types.get(f"{relation.name}.{column}")
            try:
                profile = profile_values(column, relation.values(column), logical_type=forced)
            except ValueError as error:
                raise InputError(f"hint types forces {relation.name}.{column} to '{forced}', but {error}",
                                 place=f"hints: types.{relation.name}.{column}",
                                 fix="choose a type every sample value fits, or remove the hint") from None
            relation.profiles[column] = profile
            if getattr(profile, "date_order_ambiguous", False):
                relations.warnings.append(Warning(
                    code="W103", subject=f"{relation.name}.{column}",
                    message=f"dates in {relation.name}.{column} fit both day-first and month-first; they were read "
                            f"as {getattr(profile, 'date_order', None) or 'month-first'}",
                    fix="write the dates as ISO 8601 (2026-03-14) in the source, or check the stored dates"))
            for row in relation.rows:
                row[column] = convert_value(row.get(column), profile)


def merge_declared(relations: RelationSet, declared: list[DeclaredEntity]) -> dict[str, DeclaredEntity]:
    """Match declared entities to relations by table name; add relations for entities without samples.

    Returns the declared entity of each table name. Declared N:1 and 1:1
    relationships become links, M:N ones junction relations.
    """
    matched: dict[str, DeclaredEntity] = {}
    _adopt_extracted(relations, declared)
    for entity in declared:
        name = table_name(entity.name)
        matched[name] = entity
        if name in relations.relations:
            relations.decisions.append(Decision(
                code="N201", subject=name,
                message=f"declared entity '{entity.name}' merged with the samples of table {name}",
                evidence={"declared_fields": len(entity.fields)}))
            continue
        relations.add(Relation(name=name, columns=[], rows=[], dataset="(declared)",
                               description=entity.description))
        relations.decisions.append(Decision(
            code="N202", subject=name,
            message=f"declared entity '{entity.name}' has no samples; table {name} comes from its fields",
            evidence={"declared_fields": len(entity.fields)}))
    for entity in declared:
        _declared_links(relations, table_name(entity.name), entity)
    for entity in declared:
        _restore_declared_fields(relations, table_name(entity.name), entity)
    return matched


def _adopt_extracted(relations: RelationSet, declared: list[DeclaredEntity]) -> None:
    """Give a table that decomposition extracted the name of the declared entity it is.

    A declared N:1 relationship ``deals.owner_id -> users`` and an extracted
    table ``owners`` that ``deals.owner_id`` references are one entity: the
    extracted table takes the declared name, and its columns the declared
    field names (``owner_email`` -> ``email``).
    """
    declared_names = {table_name(entity.name) for entity in declared}
    for entity in declared:
        child = table_name(entity.name)
        for relationship in entity.relationships:
            target = table_name(relationship.target)
            if relationship.cardinality not in ("N:1", "1:1") or target in relations.relations:
                continue
            column = snake_case(relationship.field) if relationship.field else f"{singularize(target)}_id"
            link = next((link for link in relations.links if link.child == child and link.child_columns == [column]
                         and link.parent not in declared_names), None)
            if link is None:
                continue
            _rename_relation(relations, link.parent, target)
            relations.decisions.append(Decision(
                code="N203", subject=target,
                message=f"table {link.parent}, extracted from {child}, is the declared entity "
                        f"'{relationship.target}' that {child}.{column} references, so it is named {target}",
                evidence={"column": f"{child}.{column}", "extracted_as": link.parent}))


def _rename_relation(relations: RelationSet, old: str, new: str) -> None:
    relation = relations.relations.pop(old)
    relation.name = new
    prefix = singularize(old) + "_"
    for index, column in enumerate(relation.columns):
        # The extracted table's key keeps its referencing name; declared fields match the stripped form.
        if column.startswith(prefix) and column not in (relation.key or []):
            stripped = column[len(prefix):]
            if stripped not in relation.columns:
                relation.columns[index] = stripped
                relation.column_sources[stripped] = relation.column_sources.pop(column, "")
                for row in relation.rows:
                    row[stripped] = row.pop(column, None)
    relations.relations[new] = relation
    pattern = re.compile(rf"\b{re.escape(old)}\b")
    for link in relations.links:
        link.parent = new if link.parent == old else link.parent
        link.child = new if link.child == old else link.child
        link.reason = pattern.sub(new, link.reason)


def _restore_declared_fields(relations: RelationSet, name: str, entity: DeclaredEntity) -> None:
    """Copy back a declared field that decomposition moved to a referenced table.

    Discovery declared the field on this entity (a line item's price at order
    time), so the table keeps it even where the samples happen to show it
    determined by the reference (every sale of a SKU at its list price).
    """
    relation = relations.relations.get(name)
    if relation is None or not relation.rows:
        return
    for declared_field in entity.fields:
        wanted = snake_case(declared_field.name)
        if wanted in relation.columns or f"{singularize(name)}_{wanted}" in relation.columns:
            continue
        for link in relations.links:
            parent = relations.relations.get(link.parent)
            if (link.child != name or link.kind != "reference" or len(link.child_columns) != 1 or parent is None
                    or wanted not in parent.columns or len(link.parent_columns) != 1):
                continue
            by_key = {_key(row.get(link.parent_columns[0])): row.get(wanted) for row in parent.rows}
            for row in relation.rows:
                row[wanted] = by_key.get(_key(row.get(link.child_columns[0])))
            relation.columns.append(wanted)
            relation.column_sources[wanted] = parent.column_sources.get(wanted, "")
            if wanted in parent.profiles:
                relation.profiles[wanted] = parent.profiles[wanted]
            relations.decisions.append(Decision(
                code="N204", subject=f"{name}.{wanted}",
                message=f"{name}.{wanted} is a declared field, so it stays in {name} although the samples show it "
                        f"determined by {link.child_columns[0]} (it is also kept in {parent.name})",
                evidence={"reference": f"{name}.{link.child_columns[0]} -> {parent.name}"}))
            break


def _key(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _declared_links(relations: RelationSet, name: str, entity: DeclaredEntity) -> None:
    existing = {(link.child, link.parent) for link in relations.links}
    for relationship in entity.relationships:
        target = table_name(relationship.target)
        if target not in relations.relations:
            relations.warnings.append(Warning(
                code="W201", subject=f"{name} -> {relationship.target}",
                message=f"declared relationship of '{entity.name}' targets unknown entity '{relationship.target}'",
                fix="declare the target entity or correct the target name"))
            continue
        if relationship.cardinality == "M:N":
            junction = f"{singularize(name)}_{target}"
            if junction in relations.relations or f"{singularize(target)}_{name}" in relations.relations:
                continue
            left, right = f"{singularize(name)}_id", f"{singularize(target)}_id"
            relations.add(Relation(name=junction, columns=[left, right], rows=[], dataset="(declared)",
                                   key=[left, right], junction=True))
            relations.links.append(Link(child=junction, child_columns=[left], parent=name,
                                        parent_columns=["id"], kind="owned", reason="declared M:N"))
            relations.links.append(Link(child=junction, child_columns=[right], parent=target,
                                        parent_columns=["id"], kind="owned", reason="declared M:N"))
            continue
        if relationship.cardinality == "1:N":
            child, parent, column = target, name, f"{singularize(name)}_id"
        else:
            child, parent = name, target
            column = snake_case(relationship.field) if relationship.field else f"{singularize(target)}_id"
        if (child, parent) in existing:
            continue
        child_relation = relations.relations[child]
        if column not in child_relation.columns:
            child_relation.columns.append(column)
            child_relation.column_sources[column] = f"declared relationship {entity.name} -> {relationship.target}"
            for row in child_relation.rows:
                row[column] = None
        relations.links.append(Link(child=child, child_columns=[column], parent=parent,
                                    parent_columns=list(relations.relations[parent].key or ["id"]),
                                    kind="reference", optional=relationship.optional,
                                    reason=relationship.label or f"declared {relationship.cardinality}"))


def relationships(ordered: list[Any], junctions: set[str]) -> list[Relationship]:
    """Describe each foreign key as a modeller's relationship: 1:1, 1:N, or M:N through a junction."""
    found: list[Relationship] = []
    by_name = {entity.name: entity for entity in ordered}
    for entity in ordered:
        if entity.name in junctions and len(entity.foreign_keys) == 2:
            left, right = entity.foreign_keys
            found.append(Relationship(parent=left.ref_table, child=right.ref_table, cardinality="M:N",
                                      optional=True, columns=[*left.columns, *right.columns],
                                      junction=entity.name, label=entity.name))
            continue
        for foreign_key in entity.foreign_keys:
            single_unique = len(foreign_key.columns) == 1 and by_name[entity.name].column(
                foreign_key.columns[0]).unique
            nullable = any(entity.column(column).nullable for column in foreign_key.columns)
            found.append(Relationship(parent=foreign_key.ref_table, child=entity.name,
                                      cardinality="1:1" if single_unique else "1:N", optional=nullable,
                                      columns=list(foreign_key.columns),
                                      label=foreign_key.reason or ", ".join(foreign_key.columns)))
    return found


def _profiles(relations: RelationSet) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: {column: profile.to_dict() for column, profile in relation.profiles.items()}
            for name, relation in sorted(relations.relations.items()) if relation.profiles}


def _source_file(loaded: LoadedInput, datasets: list[str]) -> str | None:
    """Return the file of the first dataset named in ``datasets``, for error messages."""
    files = {dataset.name: dataset.file for dataset in loaded.datasets}
    return next((files[name] for name in datasets if name in files), loaded.files[0] if loaded.files else None)


def _first_dataset_name(loaded: LoadedInput) -> str:
    return loaded.datasets[0].name if loaded.datasets else "schema"
