"""Functional-dependency discovery over one relation.

A functional dependency (FD) ``X -> A`` holds when rows that agree on the
left-hand side ``X`` also agree on ``A``. This module finds the minimal FDs
with left-hand sides of up to ``max_lhs`` columns, exact and approximate, and
the candidate keys among the same columns.

Error measure
    g3: the minimum fraction of rows that must be removed for ``X -> A`` to
    hold, counted over the rows that are evidence (those whose left-hand
    value occurs more than once, see below). An FD is reported when g3 <=
    ``max_error`` (0.01 by default, so a column with 1 % typos still depends
    on its key); ``error == 0`` means exact. Counting over evidence rows
    rather than all rows keeps a near-unique left-hand side, whose few
    repeated values disagree, from passing as an approximate FD.

Support
    The number of distinct left-hand values that occur in more than one row.
    Only those rows are evidence: a value seen once agrees with itself, so an
    FD whose left-hand values never repeat (support 0) has no evidence.

NULL semantics
    A row whose left-hand side has a NULL in any column is not evidence for
    or against the FD and never counts towards support. On the right-hand
    side NULL is an ordinary value: ``customer_id -> email`` fails when one
    row of a customer has an email and another has NULL. Empty strings,
    ``NaN`` floats and, in numeric columns, NaN-like strings (``nan``,
    ``n/a``, ``null``...) are read as NULL.

Left-hand sides
    Only identifier-like, integer and short categorical columns may appear on
    a left-hand side. Floats, measures (money, amounts, counts, quantities,
    prices), free text, dates, timestamps, booleans and JSON are kept out,
    because rows that share such a value share it by accident. Constant and
    all-NULL columns are left out of both sides.

Algorithm
    Level-wise search over left-hand sides as in TANE (Huhtala et al., 1999):
    each column becomes a list of integer class codes, a set of columns the
    product of its members' codes, and ``X -> A`` holds exactly when ``X``
    and ``X + A`` have the same number of classes. A node is not expanded
    when it is a key, or when one of its columns is determined by the others
    (then no FD with that left-hand side is minimal). Relations with more
    rows than ``sample_rows`` are searched on a fixed pseudo-random sample
    and every candidate is then measured on all rows, as in HyFD (Papenbrock
    and Naumann, 2016): an FD that holds on all rows holds on every sample,
    so the sample only proposes and the full data decides. A candidate that
    fails on all rows is retried with one more column. On a sample, a
    candidate needs a left-hand value repeated at least twice (or
    ``min_support`` times) before it is measured on every row.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Iterable

from dmodel.conventions import snake_case
from dmodel.relation import Relation

# Kinds of column, from the profile's logical type or inferred from values.
IDENTIFIER = "identifier"
CATEGORY = "category"
INTEGER = "integer"
REAL = "real"
MEASURE = "measure"
TEXT = "text"
DATE = "date"
DATETIME = "datetime"
BOOLEAN = "boolean"
JSON = "json"
CONSTANT = "constant"
EMPTY = "empty"

LHS_KINDS = frozenset({IDENTIFIER, CATEGORY, INTEGER})

# Words that mark a numeric column as a measure: its values are quantities,
# not the identity of anything.
MEASURE_WORDS = frozenset("""
amount amounts price prices total totals subtotal cost costs qty quantity quantities count counts balance
revenue fee fees tax taxes discount discounts weight grams kg salary score rate percent percentage sum avg
average units volume duration minutes seconds hours margin profit value_usd
""".split())

# Strings read as NULL in numeric columns; pandas writes ``NaN`` for a missing number.
NULL_TOKENS = frozenset({"nan", "NaN", "NAN", "n/a", "N/A", "NA", "null", "NULL", "None", "none", "-", "?"})

# Names of a row's position within its parent, the second half of a composite key.
POSITION_NAMES = frozenset({"line", "position", "seq", "sequence", "index", "idx", "rank", "ordinal"})
_ID_SUFFIXES = ("_id", "_ids", "_number", "_no", "_code", "_key", "_uuid", "_sku", "_ref", "_num")
_ID_NAMES = frozenset({"id", "uuid", "sku", "code", "key", "number", "ref", "slug", "isbn", "ean", "upc"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_INTEGER_TEXT = re.compile(r"[+-]?\d+\Z")
_REAL_TEXT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\Z")
# Strings longer than this on average, or with more words, are free text.
_FREE_TEXT_LENGTH = 40
_FREE_TEXT_WORDS = 6
_KIND_SAMPLE = 2000

_PROFILE_KINDS = {
    "integer": INTEGER, "decimal": MEASURE, "money": MEASURE, "real": REAL, "boolean": BOOLEAN,
    "date": DATE, "datetime": DATETIME, "json": JSON, "blob": TEXT, "email": CATEGORY, "url": CATEGORY,
    "phone": CATEGORY, "uuid": IDENTIFIER, "enum": CATEGORY, "text": CATEGORY,
}


@dataclass(frozen=True)
class FunctionalDependency:
    """``lhs -> rhs`` with its g3 error, its support, the rows to remove and the evidence rows."""

    lhs: tuple[str, ...]
    rhs: str
    error: float
    support: int
    violations: int
    rows: int

    @property
    def exact(self) -> bool:
        return self.violations == 0

    def __str__(self) -> str:
        return f"{', '.join(self.lhs)} -> {self.rhs}"


@dataclass
class DependencyOptions:
    """Settings of the search; the defaults are documented in the module docstring."""

    max_lhs: int = 3
    max_error: float = 0.01
    sample_rows: int = 4000
    min_support: int = 1
    seed: int = 0
    lhs_kinds: frozenset[str] = LHS_KINDS


@dataclass
class Dependencies:
    """What the search found in one relation."""

    relation: str
    rows: int
    dependencies: list[FunctionalDependency]
    keys: list[tuple[str, ...]]
    kinds: dict[str, str]
    null_counts: dict[str, int]
    distinct_counts: dict[str, int]
    excluded_from_lhs: dict[str, str] = field(default_factory=dict)
    sampled_rows: int | None = None

    def determining(self, lhs: Iterable[str]) -> list[FunctionalDependency]:
        wanted = tuple(lhs)
        return [fd for fd in self.dependencies if fd.lhs == wanted]


def is_identifier_like(name: str) -> bool:
    """Return True for names that usually hold identifiers: ``id``, ``*_id``, ``*_number``, ``code``, ``sku``."""
    name = snake_case(name)
    return name in _ID_NAMES or name.endswith(_ID_SUFFIXES)


def is_measure_name(name: str) -> bool:
    words = snake_case(name).split("_")
    return any(word in MEASURE_WORDS for word in words) or snake_case(name) in MEASURE_WORDS


def is_null(value: Any) -> bool:
    """Return True for the values read as NULL everywhere: None, NaN and the empty string."""
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def column_kind(relation: Relation, column: str, *, sample: int | None = None) -> str:
    """Return the kind of ``column``: from its profile when there is one, else inferred from its values.

    With ``sample``, only about that many evenly spaced values are read, so
    a rare second value can go unseen and a column may read as constant.
    """
    rows = relation.rows
    if sample and len(rows) > sample:
        rows = rows[::len(rows) // sample]
    values = [row.get(column) for row in rows]
    values = [value for value in values if not is_null(value)]
    if not values:
        return EMPTY
    profile = relation.profiles.get(column)
    logical_type = getattr(profile, "logical_type", None)
    if logical_type is None and isinstance(profile, dict):
        logical_type = profile.get("logical_type")
    kind = _PROFILE_KINDS.get(logical_type) if logical_type else None
    if kind is None:
        kind = _infer_kind(values)
    if kind == CATEGORY and logical_type in (None, "text") and _is_free_text(values):
        kind = TEXT
    if kind in (INTEGER, REAL) and is_measure_name(column) and not is_identifier_like(column):
        kind = MEASURE
    if kind in (INTEGER, CATEGORY) and (is_identifier_like(column) or snake_case(column) in POSITION_NAMES):
        kind = IDENTIFIER
    if kind not in (EMPTY, JSON) and _single_value(values):
        kind = CONSTANT
    return kind


def _single_value(values: list[Any]) -> bool:
    first = _hashable(values[0])
    return all(_hashable(value) == first for value in values)


def _infer_kind(values: list[Any]) -> str:
    sample = values[:_KIND_SAMPLE] if len(values) <= _KIND_SAMPLE else values[::len(values) // _KIND_SAMPLE]
    sample = [value for value in sample if not (isinstance(value, str) and value.strip() in NULL_TOKENS)]
    if not sample:
        return CATEGORY
    if all(isinstance(value, bool) for value in sample):
        return BOOLEAN
    if any(isinstance(value, (dict, list)) for value in sample):
        return JSON
    if all(isinstance(value, int) and not isinstance(value, bool) for value in sample):
        return INTEGER
    if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in sample):
        return INTEGER if all(float(value).is_integer() for value in sample) else REAL
    numbers = [value for value in sample if isinstance(value, (int, float)) and not isinstance(value, bool)]
    if numbers and all(isinstance(value, str) and _REAL_TEXT.match(value.strip())
                       for value in sample if value not in numbers):
        # Numbers mixed with numeric text, as a spreadsheet export writes them.
        return REAL if any("." in str(value) for value in sample) else INTEGER
    if all(isinstance(value, str) for value in sample):
        stripped = [value.strip() for value in sample]
        if all(_INTEGER_TEXT.match(value) for value in stripped):
            # Zero-padded codes ("00042") are identifiers spelled with digits, not numbers.
            padded = any(len(value) > 1 and value.lstrip("+-").startswith("0") for value in stripped)
            return CATEGORY if padded else INTEGER
        if all(_REAL_TEXT.match(value) for value in stripped):
            return REAL
        if all(_DATETIME.match(value) for value in stripped):
            return DATETIME
        if all(_DATE.match(value) for value in stripped):
            return DATE
        return CATEGORY
    return CATEGORY


def _is_free_text(values: list[Any]) -> bool:
    sample = [value for value in values[:_KIND_SAMPLE] if isinstance(value, str)]
    if not sample:
        return False
    mean_length = sum(len(value) for value in sample) / len(sample)
    mean_words = sum(value.count(" ") + 1 for value in sample) / len(sample)
    return mean_length > _FREE_TEXT_LENGTH or mean_words > _FREE_TEXT_WORDS


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return repr(value)
    return value


def _canonical_values(relation: Relation, column: str, kind: str) -> list[Any]:
    """Return the column's values with every NULL spelling turned into None."""
    numeric = kind in (INTEGER, REAL, MEASURE) or (kind == IDENTIFIER and _mostly_numeric(relation, column))
    values = relation.values(column)
    if kind == JSON or any(isinstance(value, (dict, list)) for value in values[:_KIND_SAMPLE]):
        values = [repr(value) if isinstance(value, (dict, list)) else value for value in values]
    if kind != BOOLEAN and bool in set(map(type, values)):
        # True == 1 in Python: tag booleans so that they stay apart from numbers.
        values = [(bool, value) if value.__class__ is bool else value for value in values]
    if numeric:
        return [None if value is None or value == "" or value != value
                or (value.__class__ is str and value.strip() in NULL_TOKENS) else value for value in values]
    return [None if value is None or value == "" or value != value else value for value in values]


def _mostly_numeric(relation: Relation, column: str) -> bool:
    values = [row.get(column) for row in relation.rows[:_KIND_SAMPLE]]
    values = [value for value in values if not is_null(value)]
    numeric = [value for value in values if isinstance(value, (int, float))
               or (isinstance(value, str) and _REAL_TEXT.match(value.strip()))]
    return bool(values) and len(numeric) * 2 > len(values)


def encode(values: list[Any]) -> tuple[list[int], int]:
    """Return class codes for ``values`` (equal values, equal codes) and the number of classes."""
    mapping: dict[Any, int] = {}
    codes = [mapping.setdefault(value, len(mapping)) for value in values]
    return codes, len(mapping)


def _lhs_codes(values: list[Any]) -> tuple[list[int], int]:
    """Return codes in which every NULL is a class of its own, so NULL rows are never evidence."""
    mapping: dict[Any, int] = {}
    codes = [mapping.setdefault(value, len(mapping)) for value in values]
    null_code = mapping.get(None)
    if null_code is None:
        return codes, len(mapping)
    next_code = len(mapping)
    for index, code in enumerate(codes):
        if code == null_code:
            codes[index] = next_code
            next_code += 1
    return codes, next_code


def product(left: list[int], right: list[int], right_bound: int) -> list[int]:
    """Return class codes of the combined columns; every code in ``right`` must be below ``right_bound``.

    Codes are not renumbered, so they grow by a factor of ``right_bound`` per
    column: three columns of a million rows stay below 2**63.
    """
    return [a * right_bound + b for a, b in zip(left, right)]


def g3_violations(lhs: list[int], rhs: list[int]) -> int:
    """Return the minimum number of rows to remove so that ``lhs`` determines ``rhs``."""
    pair_counts = Counter(zip(lhs, rhs))
    best: dict[int, int] = {}
    for (left, _right), count in pair_counts.items():
        if count > best.get(left, 0):
            best[left] = count
    return len(lhs) - sum(best.values())


class _Search:
    """One level-wise search; columns are bit positions so that subset tests are integer masks."""

    def __init__(self, relation: Relation, options: DependencyOptions) -> None:
        self.relation = relation
        self.options = options
        self.rows = len(relation.rows)
        self.kinds = {column: column_kind(relation, column, sample=_KIND_SAMPLE) for column in relation.columns}
        values = {column: _canonical_values(relation, column, self.kinds[column]) for column in relation.columns}
        for column in relation.columns:
            present = {value for value in values[column] if value is not None}
            if len(present) <= 1 and self.kinds[column] not in (CONSTANT, EMPTY):
                self.kinds[column] = CONSTANT if present else EMPTY
            elif len(present) > 1 and self.kinds[column] in (CONSTANT, EMPTY):
                # The sample saw one value only: read the whole column.
                self.kinds[column] = column_kind(relation, column)
                values[column] = _canonical_values(relation, column, self.kinds[column])
        self.null_counts = {column: sum(1 for value in values[column] if value is None)
                            for column in relation.columns}
        self.rhs_columns = [column for column in relation.columns if self.kinds[column] not in (CONSTANT, EMPTY)]
        self.lhs_columns = [column for column in self.rhs_columns if self.kinds[column] in options.lhs_kinds]
        # Plain integers (years, sizes, ratings) repeat by accident in combination,
        # so only identifiers and categories form left-hand sides of two or more columns.
        self.composite_columns = [column for column in self.lhs_columns
                                  if self.kinds[column] in (IDENTIFIER, CATEGORY)]
        self.bit = {column: 1 << position for position, column in enumerate(relation.columns)}
        self.rhs_codes: dict[str, list[int]] = {}
        self.distinct: dict[str, int] = {}
        for column in relation.columns:
            self.rhs_codes[column], self.distinct[column] = encode(values[column])
        self.lhs_full: dict[str, tuple[list[int], int]] = {
            column: _lhs_codes(values[column]) for column in self.lhs_columns}

        if self.rows > options.sample_rows:
            chooser = random.Random(options.seed)
            self.sample = sorted(chooser.sample(range(self.rows), options.sample_rows))
        else:
            self.sample = None

    # -- codes on all rows ---------------------------------------------------

    def full_codes(self, lhs: tuple[str, ...]) -> list[int]:
        codes, bound = self.lhs_full[lhs[0]]
        for column in lhs[1:]:
            right, right_bound = self.lhs_full[column]
            codes = product(codes, right, right_bound)
        return codes

    def measure_all(self, lhs: tuple[str, ...], rhs_columns: list[str]) -> list[FunctionalDependency]:
        """Measure ``lhs -> rhs`` on every row, for each rhs, over the rows that are evidence."""
        codes = self.full_codes(lhs)
        counts = Counter(codes)
        repeated = [index for index, code in enumerate(codes) if counts[code] > 1]
        support = sum(1 for count in counts.values() if count > 1)
        if len(repeated) < 2:
            return []
        take = itemgetter(*repeated)
        stripped = take(codes)
        results = []
        for rhs in rhs_columns:
            right = take(self.rhs_codes[rhs])
            if len(set(zip(stripped, right))) == support:
                violations = 0
            else:
                violations = g3_violations(stripped, right)
            results.append(FunctionalDependency(lhs=lhs, rhs=rhs, error=violations / len(repeated),
                                                support=support, violations=violations, rows=len(repeated)))
        return results

    def is_full_key(self, lhs: tuple[str, ...]) -> bool:
        if any(self.null_counts[column] for column in lhs):
            return False
        return len(set(self.full_codes(lhs))) == self.rows

    # -- the search ----------------------------------------------------------

    def sample_threshold(self, size: int) -> float:
        """Return the g3 bound used on a sample: looser, so that sampling noise hides no FD."""
        limit = self.options.max_error
        if self.sample is None:
            return limit
        spread = math.sqrt(max(limit, 1.0 / size) * (1 - limit) / size)
        return limit + 3 * spread + 1.0 / size

    def run(self) -> tuple[list[FunctionalDependency], list[tuple[str, ...]]]:
        indices = self.sample
        size = self.rows if indices is None else len(indices)
        if size == 0 or not self.lhs_columns:
            return [], []

        def pick(codes: list[int]) -> list[int]:
            return codes if indices is None else [codes[i] for i in indices]

        rhs_sample = {column: pick(self.rhs_codes[column]) for column in self.rhs_columns}
        lhs_sample: dict[str, tuple[list[int], int]] = {}
        for column in self.lhs_columns:
            codes, classes = self.lhs_full[column]
            lhs_sample[column] = (pick(codes), classes)
        threshold = self.sample_threshold(size)
        rhs_distinct = {column: len(set(codes)) for column, codes in rhs_sample.items()}
        # On a sample, an FD whose left-hand values repeat only once or twice is
        # not worth measuring on every row.
        min_sample_support = 1 if indices is None else max(2, self.options.min_support)

        found: dict[str, list[int]] = {column: [] for column in self.rhs_columns}
        exact_found: dict[str, list[int]] = {column: [] for column in self.rhs_columns}
        candidates: list[tuple[tuple[str, ...], str]] = []
        sample_keys: list[tuple[str, ...]] = []
        order = {column: position for position, column in enumerate(self.lhs_columns)}
        level = {(column,): codes for column, (codes, _) in lhs_sample.items()}

        for lhs_size in range(1, self.options.max_lhs + 1):
            non_keys: dict[tuple[str, ...], list[int]] = {}
            for lhs, codes in level.items():
                counts = Counter(codes)
                repeated = [index for index, code in enumerate(codes) if counts[code] > 1]
                if len(repeated) < max(2, 2 * self.options.min_support):
                    # A key, or so close to one that no FD from here or from a
                    # superset could reach the minimum support.
                    if not repeated:
                        sample_keys.append(lhs)
                    continue
                non_keys[lhs] = codes
                mask = sum(self.bit[column] for column in lhs)
                take = itemgetter(*repeated)
                stripped = take(codes)
                classes = sum(1 for count in counts.values() if count > 1)
                allowed = threshold * len(repeated)
                all_classes = len(counts)
                for rhs in self.rhs_columns:
                    if self.bit[rhs] & mask or any(found_mask & mask == found_mask for found_mask in found[rhs]):
                        continue
                    if rhs_distinct[rhs] > all_classes + allowed:
                        # More right-hand values than left-hand classes plus allowed violations.
                        continue
                    right_stripped = take(rhs_sample[rhs])
                    pairs = len(set(zip(stripped, right_stripped)))
                    if pairs == classes:
                        exact_found[rhs].append(mask)
                    elif pairs - classes > allowed or g3_violations(stripped, right_stripped) > allowed:
                        continue
                    found[rhs].append(mask)
                    if classes >= min_sample_support:
                        candidates.append((lhs, rhs))
            if lhs_size == self.options.max_lhs:
                break
            level = self._next_level(non_keys, lhs_sample, exact_found, order)

        return self._validate(candidates, sample_keys)

    def _next_level(self, nodes: dict[tuple[str, ...], list[int]],
                    lhs_sample: dict[str, tuple[list[int], int]], exact_found: dict[str, list[int]],
                    order: dict[str, int]) -> dict[tuple[str, ...], list[int]]:
        following: dict[tuple[str, ...], list[int]] = {}
        for lhs, codes in nodes.items():
            if any(column not in self.composite_columns for column in lhs):
                continue
            for column in self.lhs_columns[order[lhs[-1]] + 1:]:
                if column not in self.composite_columns:
                    continue
                grown = lhs + (column,)
                # Every subset one column smaller must be a non-key node (apriori).
                if any(tuple(c for c in grown if c != dropped) not in nodes for dropped in grown):
                    continue
                if self._has_redundant_column(grown, exact_found):
                    continue
                right, right_bound = lhs_sample[column]
                following[grown] = product(codes, right, right_bound)
        return following

    def _has_redundant_column(self, lhs: tuple[str, ...], exact_found: dict[str, list[int]]) -> bool:
        """Return True when the other columns of ``lhs`` determine one of its columns."""
        for column in lhs:
            rest = sum(self.bit[other] for other in lhs if other != column)
            if any(found_mask & rest == found_mask for found_mask in exact_found.get(column, ())):
                return True
        return False

    def _refine(self, failed: list[tuple[tuple[str, ...], str]],
                accepted: list[FunctionalDependency]) -> list[FunctionalDependency]:
        """Try each failed candidate's left-hand sides one column larger, as HyFD does after sampling.

        The sample hid the rows that violate ``lhs -> rhs``. Only an added column
        that separates those rows can make the FD hold, so each extension is
        first checked on the violating rows alone and measured on every row only
        if it passes there.
        """
        # NOTE: extensions are tried one column deep, so a minimal FD two columns
        # larger than a failed sample candidate can still be missed.
        limit = self.options.max_error
        found: list[FunctionalDependency] = []
        for lhs, rhs in failed:
            if len(lhs) >= self.options.max_lhs or any(column not in self.composite_columns for column in lhs):
                continue
            codes = self.full_codes(lhs)
            right = self.rhs_codes[rhs]
            violating = _violating_rows(codes, right)
            if not violating:
                continue
            take = itemgetter(*violating) if len(violating) > 1 else (lambda values: (values[violating[0]],))
            left_part, right_part = take(codes), take(right)
            allowed = limit * self.rows
            for column in self.composite_columns:
                if column in lhs or column == rhs:
                    continue
                grown = tuple(sorted(lhs + (column,), key=self.relation.columns.index))
                if any(fd.rhs == rhs and set(fd.lhs) <= set(grown) for fd in accepted + found):
                    continue
                extra = take(self.lhs_full[column][0])
                if g3_violations(list(zip(left_part, extra)), list(right_part)) > allowed:
                    continue
                measured = self.measure_all(grown, [rhs])
                if measured and measured[0].support >= self.options.min_support and measured[0].error <= limit:
                    found.append(measured[0])
        return found

    def _validate(self, candidates: list[tuple[tuple[str, ...], str]],
                  sample_keys: list[tuple[str, ...]]) -> tuple[list[FunctionalDependency], list[tuple[str, ...]]]:
        limit = self.options.max_error
        keys: list[tuple[str, ...]] = []
        pending = list(sample_keys)
        while pending:
            lhs = pending.pop(0)
            if any(set(key) <= set(lhs) for key in keys):
                continue
            if self.is_full_key(lhs):
                keys.append(lhs)
            elif self.sample is not None and len(lhs) < self.options.max_lhs:
                # A key of the sample only: the full data needs one more column.
                pending.extend(lhs + (column,) for column in self.lhs_columns if column not in lhs)
        keys = sorted(set(keys), key=lambda key: (len(key), [self.relation.columns.index(c) for c in key]))
        keys = [key for key in keys if not any(set(other) < set(key) for other in keys)]

        accepted: list[FunctionalDependency] = []
        by_lhs: dict[tuple[str, ...], list[str]] = {}
        for lhs, rhs in candidates:
            by_lhs.setdefault(lhs, []).append(rhs)
        failed: list[tuple[tuple[str, ...], str]] = []
        for lhs, rhs_columns in by_lhs.items():
            for measured in self.measure_all(lhs, rhs_columns):
                if measured.support >= self.options.min_support and measured.error <= limit:
                    accepted.append(measured)
                else:
                    failed.append((lhs, measured.rhs))
        if self.sample is not None:
            accepted += self._refine(failed, accepted)
        accepted = [fd for fd in accepted
                    if not any(other.rhs == fd.rhs and set(other.lhs) < set(fd.lhs) for other in accepted)]
        accepted = [fd for fd in accepted if not any(set(key) <= set(fd.lhs) for key in keys)]
        accepted.sort(key=lambda fd: (len(fd.lhs), [self.relation.columns.index(c) for c in fd.lhs],
                                      self.relation.columns.index(fd.rhs)))
        return accepted, keys


def _violating_rows(codes: list[int], right: list[int]) -> list[int]:
    """Return the rows of left-hand classes in which the right-hand side takes more than one value."""
    seen: dict[int, int] = {}
    mixed: set[int] = set()
    for code, value in zip(codes, right):
        if seen.setdefault(code, value) != value:
            mixed.add(code)
    return [index for index, code in enumerate(codes) if code in mixed]


def discover_dependencies(relation: Relation, options: DependencyOptions | None = None) -> Dependencies:
    """Find the minimal functional dependencies and candidate keys of ``relation``."""
    options = options or DependencyOptions()
    search = _Search(relation, options)
    dependencies, keys = search.run()
    excluded = {column: search.kinds[column] for column in relation.columns
                if search.kinds[column] not in options.lhs_kinds}
    return Dependencies(
        relation=relation.name, rows=search.rows, dependencies=dependencies, keys=keys, kinds=search.kinds,
        null_counts=search.null_counts, distinct_counts=search.distinct, excluded_from_lhs=excluded,
        sampled_rows=len(search.sample) if search.sample is not None else None)


def closure(attributes: Iterable[str], dependencies: Iterable[FunctionalDependency]) -> set[str]:
    """Return every column that ``attributes`` determine under ``dependencies`` (Armstrong's axioms)."""
    result = set(attributes)
    rules = list(dependencies)
    changed = True
    while changed:
        changed = False
        for fd in rules:
            if fd.rhs not in result and set(fd.lhs) <= result:
                result.add(fd.rhs)
                changed = True
    return result

