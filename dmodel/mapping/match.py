"""Matching: source entities to CRM tables, fields to columns, stage values to standard stages."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from dmodel.conventions import singularize, snake_case
from dmodel.errors import InputError
from dmodel.loaders import LoadedInput
from dmodel.mapping.hints import MappingHints
from dmodel.mapping.results import (
    CUSTOM, ENTITY_UNMAPPED_BELOW, EVIDENCE_SAMPLE, QUESTION_BELOW, UNMAPPED_BELOW, EntityMapping, FieldMapping,
)
from dmodel.mapping.values import (
    TYPED_COLUMNS, Unconvertible, compact_text, convert, present, scalar, split_ids,
)
from dmodel.model import Column
from dmodel.profile import ColumnProfile, profile_values
from dmodel.standard import load_standard
from dmodel.standard.vocabulary import (
    COLUMN_SYNONYMS, EMBEDDED_PARENTS, ENUM_SYNONYMS, PERSON_WORDS, STAGE_SYNONYMS, TABLE_SYNONYMS,
)

REFERENCES = {"customer_id": "customers", "opportunity_id": "opportunities"}
# Field names that hold one part of a person's name, and the part's position in customers.name.
_NAME_PARTS = {"first_name": 0, "given_name": 0, "firstname": 0, "last_name": 1, "family_name": 1, "surname": 1,
               "lastname": 1}
_VENDOR_WORDS = {"hubspot", "salesforce", "sfdc", "export", "report", "crm", "data", "list", "sheet", "dataset"}


@dataclass
class Source:
    """A source entity: its records and, per field, the values' profile."""

    name: str
    label: str
    file: str
    records: list[dict[str, Any]]
    fields: list[str]
    profiles: dict[str, ColumnProfile]
    declared_pii: dict[str, str | None]
    # Words that name the entity: a dataset's name and source label, a declared entity's name.
    naming: str = ""

    def name_words(self) -> list[str]:
        return [singularize(word) for word in snake_case(self.naming or self.name).split("_")
                if word not in _VENDOR_WORDS]


def load_sources(loaded: LoadedInput) -> list[Source]:
    """Return one source per dataset, then one per declared entity that no dataset samples."""
    declared = {entity.name: entity for entity in loaded.discovery.entities}
    covered: set[str] = set()
    sources = []
    for dataset in loaded.datasets:
        entity = declared.get(dataset.entity or "") or declared.get(dataset.name)
        if entity is not None:
            covered.add(entity.name)
        fields: list[str] = []
        for record in dataset.records:
            fields.extend(key for key in record if key not in fields)
        pii = {item.name: _declared_pii(item.pii) for item in entity.fields} if entity else {}
        sources.append(Source(dataset.name, dataset.source, dataset.file, dataset.records, fields,
                              _profile(fields, dataset.records), pii, f"{dataset.name} {dataset.source}"))
    for entity in loaded.discovery.entities:
        if entity.name in covered:
            continue
        names = [item.name for item in entity.fields]
        examples = {item.name: item.examples for item in entity.fields}
        profiles = {name: profile_values(name, examples[name]) for name in names}
        sources.append(Source(entity.name, entity.description or "declared entity", "", [], names, profiles,
                              {item.name: _declared_pii(item.pii) for item in entity.fields}))
    return sources


def _declared_pii(flag: bool | str) -> str | None:
    if flag is True:
        return "other"
    return flag or None


def _profile(fields: list[str], records: list[dict[str, Any]]) -> dict[str, ColumnProfile]:
    return {name: profile_values(name, [scalar(record.get(name)) for record in records]) for name in fields}


def match_stage(value: Any, hints: MappingHints | None = None) -> tuple[str | None, float, str]:
    """Return (stage code or None, confidence, reason) for one source stage value."""
    text = str(value).strip()
    if hints is not None and text in hints.stages:
        stage = hints.stages[text]
        return stage, 1.0 if stage else 0.0, "set by hint"
    compact = compact_text(text)
    for stage, synonyms in STAGE_SYNONYMS.items():
        if compact in synonyms:
            weight = synonyms[compact]
            how = "the standard stage's own name" if weight == 1.0 else f"a common name for {stage}"
            return stage, weight, f"{text!r} is {how}"
    vocabulary = {synonym: stage for stage, synonyms in STAGE_SYNONYMS.items() for synonym in synonyms}
    close = difflib.get_close_matches(compact, list(vocabulary), n=1, cutoff=0.8) if compact else []
    if close:
        ratio = difflib.SequenceMatcher(None, compact, close[0]).ratio()
        return vocabulary[close[0]], round(0.5 * ratio, 2), f"{text!r} is spelled like {close[0]!r}"
    return None, 0.0, f"{text!r} matches no standard stage"


def _stage_fraction(values: list[Any], hints: MappingHints) -> float:
    distinct = sorted({str(value).strip() for value in values if present(value)})
    if not distinct:
        return 0.0
    matched = [value for value in distinct if match_stage(value, hints)[1] >= QUESTION_BELOW]
    return len(matched) / len(distinct)


# --- field candidates ------------------------------------------------------------------------------------

@dataclass
class _Candidate:
    """A possible target of a field, scored; ``role`` is as in FieldMapping."""

    table: str
    column: str
    role: str
    confidence: float
    reason: str


def _name_variants(name: str, table: str) -> list[tuple[str, float, str]]:
    """Return (snake_case name, weight, note) variants of a source field name for matching ``table``.

    A leading word that names the table (``Deal`` in ``Deal Stage``) is dropped, and the weight
    becomes that word's weight as a name of the table.
    """
    snake = snake_case(name)
    variants = [(snake, 1.0, "")]
    words = snake.split("_")
    prefix = singularize(words[0])
    if len(words) > 1 and prefix in TABLE_SYNONYMS[table]:
        variants.append(("_".join(words[1:]), TABLE_SYNONYMS[table][prefix],
                         f" after the table prefix {words[0]!r}"))
    if len(words) > 1 and words[-1].isdigit():
        variants.append(("_".join(words[:-1]), 0.9, " as the first of a numbered group"))
    return variants


def _synonym_weight(variant: str, synonyms: dict[str, float]) -> tuple[float, str]:
    if variant in synonyms:
        return synonyms[variant], variant
    compact = variant.replace("_", "")
    for synonym, weight in synonyms.items():
        if synonym.replace("_", "") == compact:
            return weight, synonym
    return 0.0, ""


def _name_candidates(name: str, table: str) -> list[_Candidate]:
    """Candidates from the field's name alone: the table's columns, then its embedded parent's."""
    found: list[_Candidate] = []
    for variant, factor, note in _name_variants(name, table):
        for column, synonyms in COLUMN_SYNONYMS[table].items():
            weight, synonym = _synonym_weight(variant, synonyms)
            if weight:
                role = "reference" if column in REFERENCES else "column"
                how = "the column's name" if synonym == column else f"the synonym {synonym!r}"
                found.append(_Candidate(table, column, role, weight * factor, f"name matches {how}{note}"))
    if table in EMBEDDED_PARENTS:
        found.extend(_embedded_candidates(name, table))
    return found


def _embedded_candidates(name: str, table: str) -> list[_Candidate]:
    parent, _ = EMBEDDED_PARENTS[table]
    found = []
    words = snake_case(name).split("_")
    head = singularize(words[0])
    own_synonyms = {synonym for synonyms in COLUMN_SYNONYMS[table].values() for synonym in synonyms}
    if len(words) == 1 and head in TABLE_SYNONYMS[parent]:
        weight = 0.85 * TABLE_SYNONYMS[parent][head]
        found.append(_Candidate(parent, "name", "embedded", weight,
                                f"{name!r} names the {parent} record, so it is the {parent[:-1]}'s name"))
    for variant, factor, note in _name_variants(name, parent):
        prefixed = len(words) > 1 and head in TABLE_SYNONYMS[parent] and variant != snake_case(name)
        for column, synonyms in COLUMN_SYNONYMS[parent].items():
            if column == "external_id":
                continue
            weight, _ = _synonym_weight(variant, synonyms)
            if not weight:
                continue
            if prefixed:
                weight *= TABLE_SYNONYMS[parent][head]
                reason = f"name matches {parent}.{column} after the prefix {words[0]!r}"
            elif variant in own_synonyms:
                continue
            else:
                weight *= 0.8
                reason = f"name matches {parent}.{column}{note}; {table} has no such column"
            found.append(_Candidate(parent, column, "embedded", weight * factor, reason))
    return found


def person_like(name: str) -> bool:
    """Return True for a field named like a person (``Contact``, ``Deal Owner``) but not like an id of one."""
    words = set(snake_case(name).split("_"))
    return bool(words & PERSON_WORDS) and not words & {"id", "ids", "number", "count", "type", "stage"}


class Matcher:
    """Scores fields against a table, using their values as evidence."""

    def __init__(self, hints: MappingHints, known_ids: dict[str, set[str]]) -> None:
        self.hints = hints
        self.known_ids = known_ids

    def candidates(self, source: Source, name: str, table: str) -> list[_Candidate]:
        values = [record.get(name) for record in source.records if present(record.get(name))][:EVIDENCE_SAMPLE]
        profile = source.profiles[name]
        scored = []
        for candidate in _name_candidates(name, table):
            scored.append(self._with_values(candidate, values, profile))
        words = snake_case(name).split("_")
        if len(words) == 2 and words[1] == "id" and singularize(words[0]) in source.name_words():
            scored.append(_Candidate(table, "external_id", "column", 0.95,
                                     f"{name!r} is the id of the entity's own records"))
        snake = snake_case(name)
        if table == "customers" and snake in _NAME_PARTS:
            scored.append(_Candidate("customers", "name", f"name_part:{_NAME_PARTS[snake]}", 0.8,
                                     f"{name!r} is part of a person's name; the parts are joined into "
                                     "customers.name"))
        return sorted(scored, key=lambda item: -item.confidence)

    def _with_values(self, candidate: _Candidate, values: list[Any], profile: ColumnProfile) -> _Candidate:
        weight = candidate.confidence
        reason = candidate.reason
        if not values:
            return _Candidate(candidate.table, candidate.column, candidate.role, round(weight * 0.8, 2),
                              reason + "; no sample values to confirm it")
        if candidate.column == "stage_id":
            fraction = _stage_fraction(values, self.hints)
            confidence = max(weight * (0.5 + 0.5 * fraction), 0.45 + 0.45 * fraction if fraction else 0.0)
            reason += f"; {fraction:.0%} of the distinct values are known stage names"
        elif candidate.role == "reference":
            confidence, note = self._reference_evidence(candidate, values, weight)
            reason += note
        else:
            confidence, note = self._type_evidence(candidate, values, profile, weight)
            reason += note
        return _Candidate(candidate.table, candidate.column, candidate.role, round(min(confidence, 1.0), 2), reason)

    def _type_evidence(self, candidate: _Candidate, values: list[Any], profile: ColumnProfile,
                       weight: float) -> tuple[float, str]:
        converted = 0
        for value in values:
            try:
                convert(candidate.column, value, profile, candidate.table)
                converted += 1
            except Unconvertible:
                pass
        fraction = converted / len(values)
        typed = candidate.column in TYPED_COLUMNS or candidate.column in ENUM_SYNONYMS.get(candidate.table, {})
        if typed:
            confidence = weight * (0.4 + 0.6 * fraction) + (0.05 if fraction == 1 else 0.0)
            return confidence, f"; {fraction:.0%} of the values fit the column"
        if fraction < 1:
            return weight * (0.4 + 0.6 * fraction), f"; only {fraction:.0%} of the values are plain values"
        if profile.logical_type in ("integer", "decimal", "money", "real", "date", "datetime") \
                and candidate.column in ("name", "subject", "summary", "owner_name", "contact_name"):
            return weight * 0.5, f"; the values are {profile.logical_type}, not text"
        return weight, ""

    def _reference_evidence(self, candidate: _Candidate, values: list[Any], weight: float) -> tuple[float, str]:
        target = REFERENCES[candidate.column]
        known = self.known_ids.get(target, set())
        lists = [split_ids(value) for value in values]
        note = ""
        confidence = weight
        if known:
            found = sum(1 for ids in lists if any(item in known for item in ids))
            fraction = found / len(lists)
            note = f"; {fraction:.0%} of the values are {target} ids in the samples"
            if fraction >= 0.8:
                confidence += 0.15
        if any(len(ids) > 1 for ids in lists):
            confidence *= 0.8
            note += "; some records hold several ids, and only the first that resolves is used"
        return confidence, note


# --- entities --------------------------------------------------------------------------------------------

def _entity_name_score(source: Source, table: str) -> tuple[float, str]:
    best, best_word = 0.0, ""
    for word in source.name_words():
        weight = TABLE_SYNONYMS[table].get(word, 0.0)
        if weight > best:
            best, best_word = weight, word
    return best, best_word


def _choose_fields(source: Source, table: str, matcher: Matcher, final: bool = False) -> list[FieldMapping]:
    """Map every field of ``source`` for the target ``table``; each standard column takes one field at most.

    A field hint that names another table is ignored while tables are being scored, and is an error once
    ``table`` is the entity's final target (``final``).
    """
    chosen: list[tuple[str, _Candidate | None]] = []
    for name in source.fields:
        forced = _forced_candidate(source.name, name, table, matcher.hints, final)
        if forced is not False:
            chosen.append((name, forced))
            continue
        candidates = matcher.candidates(source, name, table)
        best = candidates[0] if candidates and candidates[0].confidence >= UNMAPPED_BELOW else None
        chosen.append((name, best))

    taken: dict[tuple[str, str], tuple[str, float]] = {}
    for name, candidate in sorted(chosen, key=lambda item: -(item[1].confidence if item[1] else 0)):
        if candidate is None or candidate.role.startswith("name_part"):
            continue
        taken.setdefault((candidate.table, candidate.column), (repr(name), candidate.confidence))
    name_owner = taken.get(("customers", "name"))
    parts = [(name, candidate.confidence) for name, candidate in chosen
             if candidate is not None and candidate.role.startswith("name_part")]
    if parts and name_owner is not None and max(conf for _, conf in parts) > name_owner[1]:
        part_names = " and ".join(repr(name) for name, _ in parts)
        taken[("customers", "name")] = (part_names, max(conf for _, conf in parts))
        name_owner = None

    mappings = []
    for name, candidate in chosen:
        mapping = _final_mapping(name, candidate, table, taken, name_owner)
        mapping.pii = _field_pii(source, name, mapping)
        mappings.append(mapping)
    return mappings


def _final_mapping(name: str, candidate: _Candidate | None, table: str,
                   taken: dict[tuple[str, str], tuple[str, float]],
                   name_owner: tuple[str, float] | None) -> FieldMapping:
    """Return the field's mapping once each standard column has kept its strongest field."""
    if candidate is None:
        return FieldMapping(name, CUSTOM, 0.0, f"no standard column matches {name!r}; kept in {table}.custom_fields")
    target = f"{candidate.table}.{candidate.column}"
    if candidate.role.startswith("name_part"):
        if name_owner is not None and name_owner[1] >= candidate.confidence:
            return FieldMapping(name, CUSTOM, candidate.confidence,
                                f"{name_owner[0]} fills customers.name; kept in custom_fields")
    elif taken[(candidate.table, candidate.column)][0] != repr(name):
        owner = taken[(candidate.table, candidate.column)][0]
        return FieldMapping(name, CUSTOM, candidate.confidence,
                            f"{target} is already filled by {owner}; kept in custom_fields")
    return FieldMapping(name, target, candidate.confidence, candidate.reason, candidate.role)


def _forced_candidate(entity: str, name: str, table: str, hints: MappingHints,
                      final: bool) -> _Candidate | None | bool:
    """Return the hinted candidate, None for a hint to custom_fields, or False when there is no hint."""
    key = hint_key(entity, name)
    if key not in hints.fields:
        return False
    target = hints.fields[key]
    if target in (None, CUSTOM):
        return None
    target_table, _, column = target.partition(".")
    if target_table == table:
        role = "reference" if column in REFERENCES else "column"
    elif EMBEDDED_PARENTS.get(table, ("",))[0] == target_table:
        role = "embedded"
    elif not final:
        return False
    else:
        raise InputError(f"hint maps {key!r} to {target!r}, but entity {entity!r} maps to table {table!r}",
                         place=f"$.mapping.fields[{key!r}]",
                         fix=f"map the field to a column of {table} or of its parent table, or to custom_fields")
    return _Candidate(target_table, column, role, 1.0, "set by hint")


def _field_pii(source: Source, name: str, mapping: FieldMapping) -> str | None:
    """Return the personal-data class of a source field: declared, the target column's, or suspected."""
    if source.declared_pii.get(name):
        return source.declared_pii[name]
    if mapping.role == "reference":
        return None
    if mapping.role != "custom":
        table, _, column = mapping.target.partition(".")
        target_column = standard_column(table, column)
        if target_column is not None and target_column.pii:
            return target_column.pii
    profile = source.profiles[name]
    if profile.pii:
        return profile.pii
    if profile.logical_type in ("text", "enum") and person_like(name):
        return "name"
    return None


_CRM_COLUMNS: dict[tuple[str, str], Column] = {}


def standard_column(table: str, column: str) -> Column | None:
    """Return the CRM standard's column ``table.column``, or None."""
    if not _CRM_COLUMNS:
        for entity in load_standard("crm").entities:
            for item in entity.columns:
                _CRM_COLUMNS[(entity.name, item.name)] = item
    return _CRM_COLUMNS.get((table, column))


def map_entity(source: Source, matcher: Matcher) -> EntityMapping:
    """Score every CRM table for the source and return its mapping to the best one, or to none.

    A table's score is half the weight of the best name word pointing at it and half the coverage of its
    fields: three strong matches to its own columns make full coverage, and inline parent fields count half.
    """
    scores = []
    for table in TABLE_SYNONYMS:
        name_score, word = _entity_name_score(source, table)
        fields = _choose_fields(source, table, matcher)
        own = sum(item.confidence for item in fields
                  if item.role in ("column", "reference") and item.confidence >= QUESTION_BELOW)
        embedded = sum(item.confidence for item in fields if item.role == "embedded")
        coverage = min(1.0, (own + 0.5 * embedded) / 3)
        score = round(0.5 * name_score + 0.5 * coverage, 2)
        strong = sum(1 for item in fields if item.role != "custom" and item.confidence >= QUESTION_BELOW)
        reason = (f"name word {word!r} points at {table}; " if word else "no name word points at it; ") + \
            f"{strong} of its {len(fields)} fields match columns well"
        scores.append((score, table, reason, fields))
    scores.sort(key=lambda item: (-item[0], list(TABLE_SYNONYMS).index(item[1])))
    alternatives = [{"table": table, "confidence": score} for score, table, _, _ in scores[1:3]]

    if source.name in matcher.hints.entities:
        table = matcher.hints.entities[source.name]
        if table is None:
            return EntityMapping(source.name, source.label, source.file, None, 0.0, "left unmapped by hint",
                                 len(source.records), alternatives=alternatives)
        fields = _choose_fields(source, table, matcher, final=True)
        return EntityMapping(source.name, source.label, source.file, table, 1.0, "set by hint",
                             len(source.records), alternatives=alternatives, fields=fields)

    score, table, reason, fields = scores[0]
    if score < ENTITY_UNMAPPED_BELOW:
        return EntityMapping(source.name, source.label, source.file, None, score,
                             f"no CRM table fits well enough (best: {table} at {score})", len(source.records),
                             alternatives=[{"table": table, "confidence": score}, *alternatives])
    if any(hint_key(source.name, name) in matcher.hints.fields for name in source.fields):
        fields = _choose_fields(source, table, matcher, final=True)
    return EntityMapping(source.name, source.label, source.file, table, score, reason, len(source.records),
                         alternatives=alternatives, fields=fields)


def hint_key(entity: str, field_name: str) -> str:
    """Return the key of a field in the hints' ``mapping.fields``: ``entity.Field name``."""
    return f"{entity}.{field_name}"
