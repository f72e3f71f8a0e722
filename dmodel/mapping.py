"""Mapping: a client's discovery data onto the standard CRM model.

Each source entity (a dataset, or a declared entity without samples) is
matched to one CRM table. Each of its fields is matched to a column of that
table, to a column of the table's embedded parent (as when a deals export
repeats the company's name in every row), or to ``custom_fields``. Every match has a confidence
from 0 to 1 and the reason: the name or synonym that matched, and whether
the values agree with the column's type, stage names or enum values.
Pipeline stage values are matched to the standard stages one by one.

Nothing is dropped: a field without a standard column, a value that does
not convert, and a reference that does not resolve all land in the row's
JSON ``custom_fields``. Matches below ``QUESTION_BELOW`` become questions
that name the hint settling them. The seed moves the sample records into
the standard tables, foreign keys resolved, personal data masked unless the
caller turns masking off.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dmodel.conventions import singularize, snake_case
from dmodel.errors import InputError
from dmodel.loaders import LoadedInput
from dmodel.emit.seed import render_seed
from dmodel.mask import mask_value
from dmodel.model import Column, Model, Question, SeedTable
from dmodel.profile import ColumnProfile, convert_value, profile_values
from dmodel.standard import load_standard, standard_version
from dmodel.standard.vocabulary import (
    CHANNEL_BY_TYPE, COLUMN_SYNONYMS, EMBEDDED_PARENTS, ENGAGEMENT_TYPE_BY_ENTITY, ENUM_SYNONYMS, PERSON_WORDS,
    STAGE_STATUS, STAGE_SYNONYMS, TABLE_SYNONYMS,
)

log = logging.getLogger(__name__)

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
_REFERENCES = {"customer_id": "customers", "opportunity_id": "opportunities"}
_TYPED_COLUMNS = {
    "amount": "money", "probability": "percent", "expected_close_date": "date", "actual_close_date": "date",
    "occurred_at": "datetime", "email": "email", "phone": "phone", "domain": "domain", "country_code": "country",
    "currency": "currency",
}
_ID_SEPARATORS = re.compile(r"\s*[;,|]\s*")
_VENDOR_WORDS = {"hubspot", "salesforce", "sfdc", "export", "report", "crm", "data", "list", "sheet", "dataset"}


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


@dataclass
class FieldMapping:
    """The target of one source field, the confidence of the match and the reason for it."""

    field: str
    target: str
    confidence: float
    reason: str
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
class _Row:
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
    rows: dict[str, list[_Row]] = field(repr=False)

    @property
    def row_counts(self) -> dict[str, int]:
        counts = {table: len(rows) for table, rows in self.rows.items()}
        counts["pipeline_stages"] = len(load_standard("crm").seed["pipeline_stages"].rows)
        return {table: counts[table] for table in SEED_ORDER if table in counts}

    def seed_model(self, mask: bool = True) -> Model:
        """Return the CRM model with the mapped rows as its seed; custom_fields values masked when ``mask`` is on."""
        model = load_standard("crm")
        model.name = self.name
        stages = model.seed["pipeline_stages"]
        model.seed = {}
        for table in SEED_ORDER:
            if table == "pipeline_stages":
                model.seed[table] = stages
            elif table in self.rows:
                model.seed[table] = _seed_table(model, table, self.rows[table], mask)
        return model

    def seed_sql(self, mask: bool = True) -> str:
        """Return ``mapped_seed.sql``: the standard stages and every mapped row, parents first."""
        return render_seed(self.seed_model(mask), mask=mask)

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


# --- hints -----------------------------------------------------------------------------------------------

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


# --- sources ---------------------------------------------------------------------------------------------

@dataclass
class _Source:
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


def _sources(loaded: LoadedInput) -> list[_Source]:
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
        sources.append(_Source(dataset.name, dataset.source, dataset.file, dataset.records, fields,
                               _profile(fields, dataset.records), pii, f"{dataset.name} {dataset.source}"))
    for entity in loaded.discovery.entities:
        if entity.name in covered:
            continue
        names = [item.name for item in entity.fields]
        examples = {item.name: item.examples for item in entity.fields}
        profiles = {name: profile_values(name, examples[name]) for name in names}
        sources.append(_Source(entity.name, entity.description or "declared entity", "", [], names, profiles,
                               {item.name: _declared_pii(item.pii) for item in entity.fields}))
    return sources


def _declared_pii(flag: bool | str) -> str | None:
    if flag is True:
        return "other"
    return flag or None


def _profile(fields: list[str], records: list[dict[str, Any]]) -> dict[str, ColumnProfile]:
    return {name: profile_values(name, [_scalar(record.get(name)) for record in records]) for name in fields}


def _scalar(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _compact(text: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


# --- value checks and conversions ------------------------------------------------------------------------

class _Unconvertible(ValueError):
    """A value that does not fit the column it was mapped to."""


def _convert(column: str, value: Any, profile: ColumnProfile, table: str) -> Any:
    """Return ``value`` as stored in the CRM column, or raise _Unconvertible."""
    kind = _TYPED_COLUMNS.get(column)

    if kind == "money":
        return _minor_units(value, profile)
    if kind == "percent":
        return _percent(value)
    if kind in ("date", "datetime"):
        return _moment(value, profile, kind)
    if kind == "email":
        text = str(value).strip()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
            raise _Unconvertible(value)
        return text
    if kind == "phone":
        text = str(value).strip()
        if not 7 <= sum(character.isdigit() for character in text) <= 15:
            raise _Unconvertible(value)
        return text
    if kind == "domain":
        text = re.sub(r"^(?:https?://)?(?:www\.)?", "", str(value).strip().lower()).rstrip("/")
        if " " in text or "." not in text:
            raise _Unconvertible(value)
        return text
    if kind in ("country", "currency"):
        text = str(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{2}" if kind == "country" else r"[A-Z]{3}", text):
            raise _Unconvertible(value)
        return text

    if isinstance(value, (dict, list)):
        raise _Unconvertible(value)
    enum = ENUM_SYNONYMS.get(table, {}).get(column)
    if enum is not None:
        if _compact(value) not in enum:
            raise _Unconvertible(value)
        return enum[_compact(value)]
    return _within_bounds(table, column, str(value).strip() if isinstance(value, str) else str(value))


_LENGTH_BOUNDS: dict[tuple[str, str], tuple[int, int]] = {}


def _within_bounds(table: str, column: str, value: Any) -> Any:
    """Return ``value`` when it fits the column's ``length(...) BETWEEN`` check, or raise _Unconvertible."""
    if not _LENGTH_BOUNDS:
        for entity in load_standard("crm").entities:
            for item in entity.columns:
                match = re.search(rf"length\({item.name}\) BETWEEN (\d+) AND (\d+)", item.check or "")
                if match:
                    _LENGTH_BOUNDS[(entity.name, item.name)] = (int(match[1]), int(match[2]))
    bounds = _LENGTH_BOUNDS.get((table, column))
    if bounds is not None and isinstance(value, str) and not bounds[0] <= len(value) <= bounds[1]:
        raise _Unconvertible(value)
    return value


def _minor_units(value: Any, profile: ColumnProfile) -> int:
    """Return an amount in minor units with two decimal places, whatever scale the source used."""
    if profile.logical_type not in ("money", "decimal", "integer", "real"):
        raise _Unconvertible(value)
    try:
        stored = convert_value(value, profile)
    except ValueError:
        raise _Unconvertible(value) from None
    if stored is None:
        raise _Unconvertible(value)
    scale = profile.scale or 0 if profile.logical_type == "money" else 0
    try:
        amount = Decimal(str(stored)) * (Decimal(10) ** (2 - scale))
    except InvalidOperation:
        raise _Unconvertible(value) from None
    # Integers above 2**53 lose precision on their way through D1's JavaScript API.
    if not amount.is_finite() or amount < 0 or amount >= 2 ** 53:
        raise _Unconvertible(value)
    return int(amount.to_integral_value())


def _percent(value: Any) -> int:
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise _Unconvertible(value) from None
    if not number.is_finite() or number < 0 or number > 100:
        raise _Unconvertible(value)
    return int(number.to_integral_value())


def _moment(value: Any, profile: ColumnProfile, kind: str) -> str:
    if profile.logical_type not in ("date", "datetime"):
        raise _Unconvertible(value)
    try:
        stored = convert_value(value, profile)
    except ValueError:
        raise _Unconvertible(value) from None
    if not isinstance(stored, str):
        raise _Unconvertible(value)
    return stored[:10] if kind == "date" else stored


def _ids(value: Any) -> list[str]:
    return [part for part in _ID_SEPARATORS.split(str(value).strip()) if part]


# --- stages ----------------------------------------------------------------------------------------------

def match_stage(value: Any, hints: MappingHints | None = None) -> tuple[str | None, float, str]:
    """Return (stage code or None, confidence, reason) for one source stage value."""
    text = str(value).strip()
    if hints is not None and text in hints.stages:
        stage = hints.stages[text]
        return stage, 1.0 if stage else 0.0, "set by hint"
    compact = _compact(text)
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
    distinct = sorted({str(value).strip() for value in values if _present(value)})
    if not distinct:
        return 0.0
    matched = [value for value in distinct if match_stage(value, hints)[1] >= QUESTION_BELOW]
    return len(matched) / len(distinct)


# --- field candidates ------------------------------------------------------------------------------------

@dataclass
class _Candidate:
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
                role = "reference" if column in _REFERENCES and column != "external_id" else "column"
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
        rest = variant
        prefixed = len(words) > 1 and head in TABLE_SYNONYMS[parent] and variant != snake_case(name)
        for column, synonyms in COLUMN_SYNONYMS[parent].items():
            if column == "external_id":
                continue
            weight, synonym = _synonym_weight(rest, synonyms)
            if not weight:
                continue
            if prefixed:
                weight *= TABLE_SYNONYMS[parent][head]
                reason = f"name matches {parent}.{column} after the prefix {words[0]!r}"
            elif rest in own_synonyms:
                continue
            else:
                weight *= 0.8
                reason = f"name matches {parent}.{column}{note}; {table} has no such column"
            found.append(_Candidate(parent, column, "embedded", weight * factor, reason))
    return found


def _person_like(name: str) -> bool:
    """Return True for a field named like a person (``Contact``, ``Deal Owner``) but not like an id of one."""
    words = set(snake_case(name).split("_"))
    return bool(words & PERSON_WORDS) and not words & {"id", "ids", "number", "count", "type", "stage"}


class _Matcher:
    """Scores fields against a table, using their values as evidence."""

    def __init__(self, hints: MappingHints, known_ids: dict[str, set[str]]) -> None:
        self.hints = hints
        self.known_ids = known_ids

    def candidates(self, source: _Source, name: str, table: str) -> list[_Candidate]:
        values = [record.get(name) for record in source.records if _present(record.get(name))][:EVIDENCE_SAMPLE]
        profile = source.profiles[name]
        scored = []
        for candidate in _name_candidates(name, table):
            scored.append(self._with_values(candidate, values, profile))
        words = snake_case(name).split("_")
        if len(words) == 2 and words[1] == "id" and singularize(words[0]) in source.name_words():
            scored.append(_Candidate(table, "external_id", "column", 0.95,
                                     f"{name!r} is the id of the entity's own records"))
        if table == "customers":
            scored.extend(self._name_parts(name, values))
        return sorted(scored, key=lambda item: -item.confidence)

    def _name_parts(self, name: str, values: list[Any]) -> list[_Candidate]:
        snake = snake_case(name)
        parts = {"first_name": 0, "given_name": 0, "firstname": 0, "last_name": 1, "family_name": 1,
                 "surname": 1, "lastname": 1}
        if snake not in parts:
            return []
        return [_Candidate("customers", "name", f"name_part:{parts[snake]}", 0.8,
                           f"{name!r} is part of a person's name; the parts are joined into customers.name")]

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
                _convert(candidate.column, value, profile, candidate.table)
                converted += 1
            except _Unconvertible:
                pass
        fraction = converted / len(values)
        typed = candidate.column in _TYPED_COLUMNS or candidate.column in ENUM_SYNONYMS.get(candidate.table, {})
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
        target = _REFERENCES[candidate.column]
        known = self.known_ids.get(target, set())
        lists = [_ids(value) for value in values]
        note = ""
        confidence = weight
        if known:
            found = sum(1 for ids in lists if any(item in known for item in ids))
            fraction = found / len(lists)
            if fraction >= 0.8:
                confidence += 0.15
                note = f"; {fraction:.0%} of the values are {target} ids in the samples"
            else:
                note = f"; {fraction:.0%} of the values are {target} ids in the samples"
        if any(len(ids) > 1 for ids in lists):
            confidence *= 0.8
            note += "; some records hold several ids, and only the first that resolves is used"
        return confidence, note


# --- entities --------------------------------------------------------------------------------------------

def _entity_name_score(source: _Source, table: str) -> tuple[float, str]:
    best, best_word = 0.0, ""
    for word in source.name_words():
        weight = TABLE_SYNONYMS[table].get(word, 0.0)
        if weight > best:
            best, best_word = weight, word
    return best, best_word


def _choose_fields(source: _Source, table: str, matcher: _Matcher, final: bool = False) -> list[FieldMapping]:
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
    key = f"{entity}.{name}"
    if key not in hints.fields:
        return False
    target = hints.fields[key]
    if target in (None, CUSTOM):
        return None
    target_table, _, column = target.partition(".")
    if target_table == table:
        role = "reference" if column in _REFERENCES else "column"
    elif EMBEDDED_PARENTS.get(table, ("",))[0] == target_table:
        role = "embedded"
    elif not final:
        return False
    else:
        raise InputError(f"hint maps {key!r} to {target!r}, but entity {entity!r} maps to table {table!r}",
                         place=f"$.mapping.fields[{key!r}]",
                         fix=f"map the field to a column of {table} or of its parent table, or to custom_fields")
    return _Candidate(target_table, column, role, 1.0, "set by hint")


def _field_pii(source: _Source, name: str, mapping: FieldMapping) -> str | None:
    """Return the personal-data class of a source field: declared, the target column's, or suspected."""
    if source.declared_pii.get(name):
        return source.declared_pii[name]
    if mapping.role == "reference":
        return None
    if mapping.role != "custom":
        table, _, column = mapping.target.partition(".")
        standard_column = _standard_column(table, column)
        if standard_column is not None and standard_column.pii:
            return standard_column.pii
    profile = source.profiles[name]
    if profile.pii:
        return profile.pii
    if profile.logical_type in ("text", "enum") and _person_like(name):
        return "name"
    return None


_CRM_COLUMNS: dict[tuple[str, str], Column] = {}


def _standard_column(table: str, column: str) -> Column | None:
    """Return the CRM standard's column ``table.column``, or None."""
    if not _CRM_COLUMNS:
        for entity in load_standard("crm").entities:
            for item in entity.columns:
                _CRM_COLUMNS[(entity.name, item.name)] = item
    return _CRM_COLUMNS.get((table, column))


def _map_entity(source: _Source, matcher: _Matcher) -> EntityMapping:
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
    if any(_hint_key(source.name, name) in matcher.hints.fields for name in source.fields):
        fields = _choose_fields(source, table, matcher, final=True)
    return EntityMapping(source.name, source.label, source.file, table, score, reason, len(source.records),
                         alternatives=alternatives, fields=fields)


# --- the whole mapping -----------------------------------------------------------------------------------

def map_discovery(loaded: LoadedInput, hints: MappingHints | None = None) -> MappingResult:
    """Map every source entity and stage value onto the CRM standard and build the seed that moves the records."""
    hints = hints or MappingHints()
    sources = _sources(loaded)

    first_pass = [_map_entity(source, _Matcher(hints, {})) for source in sources]
    known_ids = _known_ids(sources, first_pass)
    entities = [_map_entity(source, _Matcher(hints, known_ids)) for source in sources]

    builder = _SeedBuilder(hints)
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


def _known_ids(sources: list[_Source], entities: list[EntityMapping]) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for source, entity in zip(sources, entities):
        for mapping in entity.fields:
            if mapping.target == f"{entity.target}.external_id":
                values = {str(record[mapping.field]).strip() for record in source.records
                          if _present(record.get(mapping.field))}
                known.setdefault(entity.target, set()).update(values)
    return known


def _hint_key(entity: str, field_name: str) -> str:
    return f"{entity}.{field_name}"


def _field_questions(entities: list[EntityMapping]) -> list[Question]:
    questions = []
    for entity in entities:
        for mapping in entity.fields:
            if mapping.role == "custom" or mapping.confidence >= QUESTION_BELOW or mapping.reason == "set by hint":
                continue
            key = _hint_key(entity.source, mapping.field)
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


@dataclass
class _Parent:
    """Values of an embedded parent record found in one child record, with their source fields."""

    values: dict[str, Any]
    fields: dict[str, tuple[str, Any]]
    references: dict[str, tuple[str, Any]]


class _SeedBuilder:
    """Builds the rows of every CRM table from the mapped sources, resolving references as it goes."""

    def __init__(self, hints: MappingHints) -> None:
        self.hints = hints
        self.rows: dict[str, list[_Row]] = {table: [] for table in SEED_ORDER}
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

    def add_entity(self, source: _Source, entity: EntityMapping) -> None:
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

    def _currency(self, source: _Source, entity: EntityMapping) -> str | None:
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

    def _row(self, source: _Source, entity: EntityMapping, record: dict[str, Any],
             mappings: dict[str, FieldMapping], currency: str | None, problems: dict[str, int]) -> _Row | None:
        table = entity.target
        row = _Row({}, {}, {})
        parent = _Parent({}, {}, {})
        name_parts: list[tuple[int, str]] = []
        for field_name in source.fields:
            value = record.get(field_name)
            if not _present(value):
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
                resolved = self._resolve(_REFERENCES[column], value)
                if resolved is not None:
                    row.values[column] = resolved
                if resolved is None or len(_ids(value)) > 1:
                    row.custom[field_name] = value
            elif column == "stage_id":
                self._stage_value(entity, field_name, value, row)
            else:
                target_table = mapping.target.partition(".")[0]
                try:
                    converted = _convert(column, value, source.profiles[field_name], target_table)
                except _Unconvertible:
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
        if parent.values:
            self._embedded_parent(table, row, parent)
        return self._complete(table, entity, row, currency)

    def _stage_value(self, entity: EntityMapping, field_name: str, value: Any, row: _Row) -> None:
        text = str(value).strip()
        key = (entity.source, field_name, text)
        self.stage_counts[key] = self.stage_counts.get(key, 0) + 1
        stage, confidence, _ = match_stage(text, self.hints)
        if stage is not None and confidence >= UNMAPPED_BELOW:
            row.values["stage_id"] = self.stage_ids[stage]
            row.values.setdefault("status", STAGE_STATUS.get(stage, "open"))
        else:
            row.custom[field_name] = value

    def _embedded_parent(self, table: str, row: _Row, parent: _Parent) -> None:
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
            external = _ids(reference[1])[0] if reference else None
            values = {"external_id": external, **parent.values} if external else dict(parent.values)
            row.values[column] = self._insert(parent_table, _Row(values, {}, {}))[0]
            if reference and len(_ids(reference[1])) == 1:
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

    def _complete(self, table: str, entity: EntityMapping, row: _Row, currency: str | None) -> _Row | None:
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
        return row

    def _insert(self, table: str, row: _Row) -> tuple[int, bool]:
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
        for item in _ids(value):
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

    def _insert_section(self, table: str, row: _Row, path: str, index: int) -> int | None:
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
        if not _present(value) or isinstance(value, (dict, list)):
            return None
        text = str(value).strip()
        return self.by_external_id["customers"].get(text) or self.by_name["customers"].get(text.casefold())

    def _link_customers(self, initiative_id: int, row: _Row, customers: Any, path: str, index: int) -> None:
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
                self.rows["customer_initiatives"].append(_Row(link, {}, {}))
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

    def table_rows(self) -> dict[str, list[_Row]]:
        return {table: rows for table, rows in self.rows.items() if rows}


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


def _section_row(item: dict[str, Any], table: str, columns: dict[str, str]) -> _Row:
    """Build a row from one item of the discovery's initiatives or resources section."""
    row = _Row({}, {}, {})
    for key, value in item.items():
        if not _present(value):
            continue
        profile = profile_values(key, [_scalar(value)])
        pii = profile.pii or ("name" if _person_like(key) and isinstance(value, str) else None)
        if pii:
            row.pii[key] = pii
        column = columns.get(key)
        if column is None or column in row.values:
            row.custom[key] = value
            continue
        try:
            row.values[column] = _convert(column, value, profile, table)
        except _Unconvertible:
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


def _seed_table(model: Model, table: str, rows: list[_Row], mask: bool) -> SeedTable:
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
        values[key] = _json_safe(value)
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), allow_nan=False)


def _json_safe(value: Any) -> Any:
    """Return ``value`` with NaN and infinite floats written as text, which JSON (and json_valid) reject."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


# --- report ----------------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: MappingResult) -> str:
    """Return ``mapping.md``: what maps where, how sure each match is, and the open questions."""
    client = result.client.get("name") or result.client.get("id") or "the client"
    moved = sum(entity.rows_moved for entity in result.entities)
    lines = [f"# Mapping of {client} onto the CRM standard {result.version}", "",
             f"{len(result.entities)} source entities, {moved} records moved into the standard tables, "
             f"{len(result.questions)} open questions, {len(result.warnings)} warnings. Fields without a "
             "standard column are kept in each row's JSON `custom_fields`.", "",
             "## Entities", "",
             "| source | what it is | CRM table | confidence | records moved | reason |",
             "| --- | --- | --- | --- | --- | --- |"]

    for entity in result.entities:
        lines.append(f"| {_cell(entity.source)} | {_cell(entity.label)} | {entity.target or '(unmapped)'} | "
                     f"{entity.confidence:.2f} | {entity.rows_moved} of {entity.rows} | {_cell(entity.reason)} |")
    for entity in result.entities:
        if not entity.fields:
            continue
        lines += ["", f"## {entity.source} -> {entity.target or '(unmapped)'}", "",
                  "| field | target | confidence | reason |", "| --- | --- | --- | --- |"]
        for mapping in entity.fields:
            lines.append(f"| {_cell(mapping.field)} | {mapping.target} | {mapping.confidence:.2f} | "
                         f"{_cell(mapping.reason)} |")

    if result.stages:
        lines += ["", "## Pipeline stages", "",
                  "| source | value | standard stage | confidence | records | reason |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for stage in result.stages:
            lines.append(f"| {_cell(stage.entity)}.{_cell(stage.field)} | {_cell(stage.value)} | "
                         f"{stage.stage or '(unmapped)'} | {stage.confidence:.2f} | {stage.rows} | "
                         f"{_cell(stage.reason)} |")

    lines += ["", "## Questions", ""]
    if not result.questions:
        lines.append("None.")
    for question in result.questions:
        hint = json.dumps(question.hint, ensure_ascii=False)
        lines.append(f"- **{question.code}** {_cell(question.subject)}: {question.question} "
                     f"Answer with the hint `{hint}`.")
    if result.warnings:
        lines += ["", "## Warnings", ""]
        for warning in result.warnings:
            lines.append(f"- **{warning['code']}** {warning['subject']}: {warning['message']}. {warning['fix']}.")
    return "\n".join(lines) + "\n"
