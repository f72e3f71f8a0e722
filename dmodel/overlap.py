"""Overlap: which entities and fields recur across several clients' discovery data.

Each client's discovery data is first mapped onto the CRM standard
(``dmodel.mapping``), so ``Deal``, ``Opportunity`` and a spreadsheet's
``Status``/``Value`` columns meet in one concept through the standard's
vocabulary. Entities and fields the standard does not cover are clustered
by normalized name (snake_case, singular, without the entity's own prefix
or a trailing number) and a short list of common synonyms.

A concept present in at least ``threshold`` of the clients (two thirds by
default) is recommended for the standard model. One present in two or more
clients, but fewer than that, is an optional extension. The rest stay
client-specific.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from dmodel.conventions import singularize, snake_case
from dmodel.errors import InputError
from dmodel.loaders import LoadedInput
from dmodel.mapping import CUSTOM, QUESTION_BELOW, EntityMapping, map_discovery
from dmodel.standard.vocabulary import TABLE_SYNONYMS

OVERLAP_FORMAT = "dmodel.overlap/v1"
DEFAULT_THRESHOLD = Fraction(2, 3)

# Concept name of each CRM table.
STANDARD_CONCEPTS = {"customers": "customer", "opportunities": "opportunity", "engagements": "engagement",
                     "initiatives": "initiative", "portfolio_resources": "cloudflare resource"}
# Common names of entities outside the CRM standard, by concept.
ENTITY_SYNONYMS = {
    "product": {"product", "item", "article", "sku", "catalog_item", "catalogue_item"},
    "order": {"order", "purchase", "sales_order", "sale_order"},
    "order line": {"line_item", "order_line", "order_item", "line"},
    "user": {"user", "owner", "rep", "sales_rep", "employee", "staff", "agent", "member"},
    "invoice": {"invoice", "bill"},
    "ticket": {"ticket", "case", "issue", "support_request"},
    "location": {"location", "site", "store", "branch"},
}
# Common names of fields outside the CRM standard, by concept.
FIELD_SYNONYMS = {
    "email": {"email", "e_mail", "email_address", "mail"},
    "phone": {"phone", "phone_number", "telephone", "tel", "mobile"},
    "created at": {"created_at", "create_date", "created", "created_date", "creation_date", "date_created"},
    "updated at": {"updated_at", "last_modified", "last_modified_date", "modified", "update_date"},
    "type": {"type", "kind", "category"},
    "source": {"source", "lead_source", "origin", "channel_source"},
    "next step": {"next_step", "next_action", "follow_up"},
    "title": {"title", "job_title", "position", "role"},
    "lifecycle stage": {"lifecycle_stage", "lifecycle", "stage_of_lifecycle"},
    "description": {"description", "note", "comment"},
    "status": {"status", "state"},
    "address": {"address", "address1", "street", "address_line_1"},
    "postal code": {"zip", "zip_code", "postcode", "postal_code"},
}


@dataclass
class FieldConcept:
    """One field concept: which clients have it, under which source names, and what to do with it."""

    concept: str
    standard_column: str | None
    clients: dict[str, list[str]]
    share: float = 0.0
    recommendation: str = ""


@dataclass
class EntityConcept:
    """One entity concept across clients, with its field concepts."""

    concept: str
    standard_table: str | None
    clients: dict[str, list[str]]
    fields: list[FieldConcept] = field(default_factory=list)
    share: float = 0.0
    recommendation: str = ""


@dataclass
class OverlapReport:
    """The concept x client matrix, the recommendation for each concept, and a summary in plain sentences."""

    clients: list[str]
    threshold: Fraction
    concepts: list[EntityConcept]
    summary: list[str]

    def matrix(self) -> list[dict[str, Any]]:
        """Return the concept x client matrix: one row per entity concept and per field concept of it.

        Each row has one cell per client, in the order of ``clients``: the source names, or None.
        """
        rows = []
        for concept in self.concepts:
            rows.append({"concept": concept.concept, "cells": [concept.clients.get(c) for c in self.clients]})
            rows.extend({"concept": f"{concept.concept}.{item.concept}",
                         "cells": [item.clients.get(c) for c in self.clients]} for item in concept.fields)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"format": OVERLAP_FORMAT, "clients": self.clients, "threshold": float(self.threshold),
                "summary": self.summary, "matrix": self.matrix(),
                "concepts": [asdict(concept) for concept in self.concepts]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def client_name(loaded: LoadedInput, fallback: str) -> str:
    """Return the name a client goes by in the report: its name, its id, or the input's name."""
    client = loaded.discovery.client
    return client.name or client.id or fallback


def overlap(inputs: list[tuple[str, LoadedInput]], threshold: Fraction = DEFAULT_THRESHOLD) -> OverlapReport:
    """Cluster every client's entities and fields into concepts and recommend what belongs in the standard."""
    if len(inputs) < 2:
        raise InputError(f"overlap needs the discovery data of at least two clients, got {len(inputs)}",
                         fix="pass two or more discovery documents or folders")
    if not 0 < threshold <= 1:
        raise InputError(f"threshold {float(threshold)} is outside (0, 1]", place="--threshold",
                         fix="pass a share such as 0.67 or 2/3")
    names = _unique_names([name for name, _ in inputs])

    concepts: dict[str, EntityConcept] = {}
    for name, (_, loaded) in zip(names, inputs):
        for entity in map_discovery(loaded).entities:
            _add_entity(concepts, name, entity)

    ordered = sorted(concepts.values(), key=lambda item: (-len(item.clients), item.standard_table is None,
                                                           item.concept))
    for concept in ordered:
        _recommend_entity(concept, len(names), threshold)
        concept.fields.sort(key=lambda item: (-len(item.clients), item.standard_column is None, item.concept))
        for field_concept in concept.fields:
            _recommend_field(field_concept, concept, len(names), threshold)
    return OverlapReport(names, threshold, ordered, _summary(ordered, names, threshold))


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


# --- clustering ------------------------------------------------------------------------------------------

def entity_concept(entity: EntityMapping) -> tuple[str, str | None]:
    """Return (concept, CRM table or None) of a source entity; a weak mapping counts as no mapping."""
    if entity.target is not None and entity.confidence >= QUESTION_BELOW:
        return STANDARD_CONCEPTS[entity.target], entity.target
    words = [singularize(word) for word in snake_case(entity.source.lstrip("$.")).split("_")]
    normalized = "_".join(words)
    for candidate in (normalized, words[-1]):
        for concept, synonyms in ENTITY_SYNONYMS.items():
            if candidate in synonyms:
                return concept, None
    return normalized.replace("_", " "), None


def field_concept(name: str, entity_words: set[str]) -> str:
    """Return the concept of a field outside the standard: its normalized name, or a common synonym's concept.

    Normalizing drops a leading word that names the entity and a trailing number, and makes the last word
    singular (``Deal Type`` -> ``type``, ``Phone 2`` -> ``phone``, ``Next steps`` -> ``next step``).
    """
    words = snake_case(name).split("_")
    if len(words) > 1 and singularize(words[0]) in entity_words:
        words = words[1:]
    if len(words) > 1 and words[-1].isdigit():
        words = words[:-1]
    normalized = "_".join([*words[:-1], singularize(words[-1])])
    for concept, synonyms in FIELD_SYNONYMS.items():
        if normalized in synonyms:
            return concept
    return normalized.replace("_", " ")


def _add_entity(concepts: dict[str, EntityConcept], client: str, entity: EntityMapping) -> None:
    concept_name, table = entity_concept(entity)
    concept = concepts.setdefault(concept_name, EntityConcept(concept_name, table, {}))
    concept.standard_table = concept.standard_table or table
    mapped = table is not None
    concept.clients.setdefault(client, []).append(entity.source)
    entity_words = {singularize(word) for word in snake_case(entity.source).split("_")}
    if table is not None:
        entity_words |= set(TABLE_SYNONYMS[table])

    for mapping in entity.fields:
        target_table, _, column = mapping.target.partition(".")
        if mapping.target != CUSTOM and not mapped:
            _add_field(concept, client, field_concept(mapping.field, entity_words), None, mapping.field)
        elif mapping.target != CUSTOM and target_table != table:
            # An embedded parent's field (a customer's name inside a deals export) counts for the parent.
            parent = concepts.setdefault(STANDARD_CONCEPTS[target_table],
                                         EntityConcept(STANDARD_CONCEPTS[target_table], target_table, {}))
            parent.clients.setdefault(client, [])
            if f"{entity.source} (embedded)" not in parent.clients[client]:
                parent.clients[client].append(f"{entity.source} (embedded)")
            _add_field(parent, client, column.replace("_", " "), mapping.target, mapping.field)
        elif mapping.target != CUSTOM:
            _add_field(concept, client, column.replace("_", " "), mapping.target, mapping.field)
        else:
            _add_field(concept, client, field_concept(mapping.field, entity_words), None, mapping.field)


def _add_field(concept: EntityConcept, client: str, name: str, column: str | None, source_name: str) -> None:
    if column is not None and column.endswith(".stage_id"):
        name = "stage"
    existing = next((item for item in concept.fields if item.concept == name), None)
    if existing is None:
        existing = FieldConcept(name, column, {})
        concept.fields.append(existing)
    existing.standard_column = existing.standard_column or column
    names = existing.clients.setdefault(client, [])
    if source_name not in names:
        names.append(source_name)


# --- recommendations -------------------------------------------------------------------------------------

def _share(count: int, total: int) -> float:
    return round(count / total, 2)


def _recommend_entity(concept: EntityConcept, total: int, threshold: Fraction) -> None:
    count = len(concept.clients)
    concept.share = _share(count, total)
    recurring = Fraction(count, total) >= threshold
    if concept.standard_table and recurring:
        concept.recommendation = f"keep: in the standard ({concept.standard_table}) and used by {count} of {total}"
    elif concept.standard_table and count >= 2:
        concept.recommendation = f"keep as optional: in the standard ({concept.standard_table}), used by " \
                                 f"{count} of {total}"
    elif concept.standard_table:
        concept.recommendation = f"keep as optional: in the standard ({concept.standard_table}), used by 1 " \
                                 f"of {total}"
    elif recurring:
        concept.recommendation = f"add to the standard: used by {count} of {total} clients"
    elif count >= 2:
        concept.recommendation = f"offer as an extension: used by {count} of {total} clients"
    else:
        concept.recommendation = "client-specific: leave it out of the standard"


def _recommend_field(field_concept: FieldConcept, concept: EntityConcept, total: int, threshold: Fraction) -> None:
    count = len(field_concept.clients)
    field_concept.share = _share(count, total)
    recurring = Fraction(count, total) >= threshold
    if field_concept.standard_column:
        field_concept.recommendation = "keep: a standard column" if recurring else \
            f"keep: a standard column, used by {count} of {total}"
    elif recurring and concept.standard_table:
        field_concept.recommendation = f"promote from custom_fields to a column of {concept.standard_table}"
    elif recurring:
        field_concept.recommendation = "include when the entity is added"
    elif count >= 2:
        field_concept.recommendation = "keep in custom_fields; revisit if more clients need it"
    else:
        field_concept.recommendation = "client-specific: custom_fields"


def _summary(concepts: list[EntityConcept], clients: list[str], threshold: Fraction) -> list[str]:
    total = len(clients)
    needed = math.ceil(threshold * total)
    share = f"{needed} of the {total}"
    recurring = [c for c in concepts if Fraction(len(c.clients), total) >= threshold]
    in_standard = [c.concept for c in recurring if c.standard_table]
    to_add = [c.concept for c in recurring if not c.standard_table]
    extensions = [c.concept for c in concepts
                  if not c.standard_table and 2 <= len(c.clients) and Fraction(len(c.clients), total) < threshold]
    rare_standard = [c.concept for c in concepts if c.standard_table and Fraction(len(c.clients), total) < threshold]
    promote = [f"{c.concept}.{f.concept}" for c in concepts if c.standard_table for f in c.fields
               if not f.standard_column and Fraction(len(f.clients), total) >= threshold]
    specific = sum(1 for c in concepts if len(c.clients) == 1 and not c.standard_table)

    lines = [f"We compared the discovery data of {total} clients: {', '.join(clients)}. A concept counts as shared "
             f"when at least {share} clients have it."]
    if in_standard:
        lines.append(f"The standard CRM model already covers what they share: {_join(in_standard)}.")
    if to_add:
        lines.append(f"Add {_join(to_add)} to the standard model: each recurs in at least {share} clients and "
                     "the standard has no table for it yet.")
    if promote:
        lines.append(f"Promote {_join(promote)} from custom_fields to a column of its own: at least {share} "
                     "clients track it, and today it lives only in custom_fields.")
    if extensions:
        lines.append(f"Offer {_join(extensions)} as optional extensions: more than one client has them, but not "
                     "enough to make them standard.")
    if rare_standard:
        lines.append(f"{_join(rare_standard, capital=True)} stay in the standard as optional parts; few of these "
                     "clients use them yet.")
    if specific:
        lines.append(f"{specific} other entit{'y is' if specific == 1 else 'ies are'} specific to one client and "
                     "should stay out of the standard.")
    return lines


def _join(items: list[str], capital: bool = False) -> str:
    text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return text[:1].upper() + text[1:] if capital else text


# --- Markdown --------------------------------------------------------------------------------------------

def _cell(names: list[str] | None) -> str:
    if not names:
        return ""
    return ", ".join(name.replace("|", "\\|") for name in names)


def render_markdown(report: OverlapReport) -> str:
    """Return ``overlap.md``: the summary, the entity matrix and one field matrix per shared concept."""
    header = "| concept | standard | " + " | ".join(report.clients) + " | share | recommendation |"
    rule = "| --- | --- | " + " | ".join("---" for _ in report.clients) + " | --- | --- |"
    lines = [f"# Overlap across {len(report.clients)} clients", "", "## Summary and recommendation", "",
             *[f"- {line}" for line in report.summary], "", "## Entities", "", header, rule]
    for concept in report.concepts:
        cells = " | ".join(_cell(concept.clients.get(client)) for client in report.clients)
        lines.append(f"| {concept.concept} | {concept.standard_table or ''} | {cells} | "
                     f"{concept.share:.0%} | {concept.recommendation} |")

    for concept in report.concepts:
        if len(concept.clients) < 2 or not concept.fields:
            continue
        lines += ["", f"## Fields of {concept.concept}", "", header.replace("| concept |", "| field |"), rule]
        for item in concept.fields:
            cells = " | ".join(_cell(item.clients.get(client)) for client in report.clients)
            lines.append(f"| {item.concept} | {item.standard_column or ''} | {cells} | {item.share:.0%} | "
                         f"{item.recommendation} |")
    return "\n".join(lines) + "\n"
