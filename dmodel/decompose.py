"""Second and third normal form: keys, splits, repeating groups and junction tables.

``normalize`` takes the flat relations of the 1NF step and returns relations
in third normal form, each with its natural key, plus the links, decisions
and questions that explain the result. ``match_entities`` then recognises
one entity stored under two relations (a customers export and the customers
nested in orders) and merges them.

Keys
    A candidate key is a set of up to three identifier-like or categorical
    columns that is unique and never NULL. The primary key is the candidate
    with the best score: ``id`` first, then identifier-like names (``*_id``,
    ``*_number``, ``code``, ``sku``), integers and short values, fewer columns
    and earlier position. ``Relation.key`` stores it; the model later adds a
    surrogate ``id INTEGER PRIMARY KEY`` and keeps the natural key UNIQUE. A
    key that the 1NF step already set (an ``id``, or ``row_number`` for
    records without one) is kept, because links already point at it.

Splits (3NF synthesis)
    From the exact FDs whose left-hand side is not a superkey, left-hand sides
    that determine each other form one class (``customer_id`` and
    ``customer_email``). The class is named by its best member, the
    representative. A class's columns are what its representative determines,
    less what a class it determines contains (``city_name`` goes with
    ``city_id``, not with ``customer_id``). That is the minimal cover grouped
    by left-hand side, so the result preserves the dependencies, except where
    the NULL rule below keeps a column back. Every extracted relation is keyed
    by a left-hand side that its referencing relation keeps, so joining back
    is lossless. A class is extracted when its representative's values repeat
    (support of at least ``min_support`` distinct values that occur in more
    than one row) and it moves at least two columns or its representative is
    identifier-like. Weaker classes and FDs that hold only approximately
    become questions with the hint that settles them, never splits. A split's
    confidence is ``support / (support + 1)``: three repeating values give
    0.75, a hundred give 0.99.

Naming
    An extracted relation is named from its representative with the
    identifier suffix removed (``customer_id`` -> ``customers``), else from
    the word its columns share (``product_name, product_sku`` ->
    ``products``), else from the representative itself (``city`` ->
    ``cities``), and made unique among the relations. Its key columns keep
    their names, so the referencing relation keeps ``customer_id`` and the
    link joins equal names; its other columns lose the shared prefix
    (``customer_email`` -> ``email``) unless that would collide.

NULLs
    Rows whose representative is NULL are not inserted into the extracted
    relation, and their reference stays NULL. A representative spelled as
    NULL in another way (``''``, NaN, or ``n/a`` and the like in a numeric
    column, as FD discovery reads them) is stored as NULL. A column moves only
    if it is NULL in every such row, because moving it would otherwise lose
    values; it stays where it was and a decision says why. FDs do not compose
    through a column that is NULL in some rows, so a column reached only
    through another one is measured on the rows before it moves.

Repeating groups
    Numbered columns (``phone_1, phone_2``, ``email, email_2``,
    ``addr1_city, addr2_city``) and labelled blocks with the same fields
    (``billing_street, billing_city`` and ``shipping_street, shipping_city``)
    become an owned child table with a ``position`` or ``label`` column. A
    member whose columns are all empty adds no row.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from dmodel.conventions import pluralize, singularize, snake_case, unique_name
from dmodel.dependencies import (
    IDENTIFIER, INTEGER, MEASURE, NULL_TOKENS, POSITION_NAMES, REAL, Dependencies, DependencyOptions,
    FunctionalDependency, closure, discover_dependencies, is_identifier_like, is_null,
)
from dmodel.errors import InputError
from dmodel.hints import Hints, parse_dependency
from dmodel.model import Decision, Question
from dmodel.relation import Link, Relation, RelationSet


@dataclass
class NormalizeOptions:
    """Thresholds of the 2NF/3NF step; the module docstring explains each."""

    max_error: float = 0.01
    max_lhs: int = 3
    min_support: int = 3
    sample_rows: int = 4000
    repeating_groups: bool = True

    def dependency_options(self) -> DependencyOptions:
        return DependencyOptions(max_lhs=self.max_lhs, max_error=self.max_error, sample_rows=self.sample_rows)


# -- keys ----------------------------------------------------------------------


def key_score(columns: Iterable[str], relation: Relation, kinds: dict[str, str] | None = None,
              determining: set[str] | None = None) -> float:
    """Score a candidate key: higher is a better primary key (see the module docstring).

    A column in ``determining`` is the left-hand side of an FD, so it refers
    to another entity and makes a worse part of this one's key.
    """
    columns = list(columns)
    kinds = kinds or {}
    determining = determining or set()
    total = 0.0
    for column in columns:
        name = snake_case(column)
        if name == "id":
            total += 4
        elif is_identifier_like(column):
            total += 3
        elif name in POSITION_NAMES:
            total += 3
        if column in determining:
            total -= 1
        if kinds.get(column) in (IDENTIFIER, INTEGER):
            total += 1
        lengths = [len(str(row.get(column))) for row in relation.rows[:500] if row.get(column) is not None]
        if lengths and sum(lengths) / len(lengths) <= 16:
            total += 0.5
        if column in relation.columns:
            total -= 0.01 * relation.columns.index(column)
    # The mean keeps a pair of good columns below one good column.
    return total / max(len(columns), 1) - 2.0 * (len(columns) - 1)


def _is_synthetic(relation: Relation, column: str) -> bool:
    """Return True for a column the 1NF step invented (a record's position)."""
    return column == "row_number" or relation.column_sources.get(column, "").endswith("(position)")


def _choose_key(relation: Relation, found: Dependencies, hints: Hints,
                result: RelationSet) -> list[str] | None:
    forced = hints.keys.get(relation.name)
    if forced:
        result.decisions.append(Decision(
            code="N301", subject=relation.name, message=f"key of {relation.name} is {', '.join(forced)} (hint)",
            evidence={"hint": {"keys": {relation.name: forced}}}))
        return list(forced)

    determining = {column for fd in found.dependencies if fd.support >= 2 for column in fd.lhs}

    def score(key: Iterable[str]) -> float:
        return key_score(key, relation, found.kinds, determining)

    candidates = sorted(found.keys, key=lambda key: -score(key))
    scored = {", ".join(key): round(score(key), 2) for key in candidates}
    if relation.key:
        result.decisions.append(Decision(
            code="N301", subject=relation.name,
            message=f"key of {relation.name} stays {', '.join(relation.key)}, set when the records were flattened",
            evidence={"candidates": scored}))
        return list(relation.key)
    if not candidates:
        result.decisions.append(Decision(
            code="N302", subject=relation.name,
            message=f"{relation.name} has no natural key: no column set of up to three identifier or "
                    "category columns is unique and never NULL; rows are told apart by the surrogate id",
            evidence={"rows": found.rows}, confidence=0.9 if found.rows >= 20 else 0.6))
        return None

    best = list(candidates[0])
    confidence = 0.95 if found.rows >= 20 else 0.6
    if len(candidates) > 1:
        runner_up = candidates[1]
        gap = score(best) - score(runner_up)
        if gap < 1:
            confidence = 0.5
            result.questions.append(Question(
                code="Q301", subject=relation.name,
                question=f"Which columns identify a row of {relation.name}: {', '.join(best)} or "
                         f"{', '.join(runner_up)}? Both are unique and never empty in the sample.",
                options=[", ".join(best), ", ".join(runner_up)],
                hint={"keys": {relation.name: list(runner_up)}}))
    result.decisions.append(Decision(
        code="N301", subject=relation.name, message=f"key of {relation.name} is {', '.join(best)}",
        evidence={"candidates": scored, "rows": found.rows}, confidence=confidence))
    return best


# -- planning splits -----------------------------------------------------------

# Questions about weak splits asked per relation, strongest first; more would bury the useful ones.
_MAX_QUESTIONS = 5


@dataclass
class _Class:
    """Left-hand sides that determine each other, and what they determine."""

    members: list[tuple[str, ...]]
    representative: tuple[str, ...]
    attributes: set[str]
    closure: set[str]
    support: int = 0
    dependents: list[str] = field(default_factory=list)
    forced: bool = False
    name: str = ""
    requested_name: str = ""

    @property
    def moved(self) -> list[str]:
        """Columns that leave the referencing relation: equivalent left-hand sides and dependents."""
        others = [column for column in sorted(self.attributes) if column not in self.representative]
        return others + [column for column in self.dependents if column not in others]


def _build_classes(dependencies: list[FunctionalDependency], order: dict[str, int],
                   relation: Relation, kinds: dict[str, str]) -> list[_Class]:
    lhs_sets: list[tuple[str, ...]] = []
    for fd in dependencies:
        if fd.lhs not in lhs_sets:
            lhs_sets.append(fd.lhs)
    closures = {lhs: closure(lhs, dependencies) for lhs in lhs_sets}

    classes: list[_Class] = []
    for lhs in sorted(lhs_sets, key=lambda item: (len(item), [order[c] for c in item])):
        for existing in classes:
            other = existing.representative
            if set(lhs) <= closures[other] and set(other) <= closures[lhs]:
                existing.members.append(lhs)
                existing.attributes |= set(lhs)
                break
        else:
            classes.append(_Class(members=[lhs], representative=lhs, attributes=set(lhs), closure=closures[lhs]))

    for item in classes:
        item.representative = max(item.members, key=lambda lhs: (key_score(lhs, relation, kinds),
                                                                  -len(lhs)))
        item.closure = closures[item.representative]
        item.support = max(fd.support for fd in dependencies if fd.lhs == item.representative) \
            if any(fd.lhs == item.representative for fd in dependencies) else 0

    for item in classes:
        reached = [other for other in classes if other is not item and other.attributes <= item.closure]
        direct = [other for other in reached
                  if not any(middle is not other and other.attributes <= middle.closure for middle in reached)]
        covered: set[str] = set()
        for other in reached:
            covered |= other.closure
        dependents = (item.closure - item.attributes - covered)
        for other in direct:
            dependents |= set(other.representative)
        dependents -= item.attributes
        item.dependents = sorted(dependents, key=order.__getitem__)
    return classes


def _is_strong(item: _Class, options: NormalizeOptions) -> bool:
    if item.forced:
        return True
    identifier = len(item.representative) == 1 and is_identifier_like(item.representative[0])
    return item.support >= options.min_support and (len(item.moved) >= 2 or (identifier and item.moved != []))


def _usable_dependencies(found: Dependencies, key: list[str] | None, relation: Relation,
                         hints: Hints) -> tuple[list[FunctionalDependency], list[FunctionalDependency]]:
    """Return the exact FDs a split may use and the approximate ones worth a question."""
    keys = [set(candidate) for candidate in found.keys]
    if key:
        keys.append(set(key))
    key_columns = set(key or [])
    forbidden = [rule for rule in (parse_dependency(text, "forbid", index)
                                   for index, text in enumerate(hints.dependencies.get("forbid", [])))
                 if rule[0] == relation.name]

    def allowed(fd: FunctionalDependency) -> bool:
        if any(superkey <= set(fd.lhs) for superkey in keys) or fd.rhs in key_columns:
            return False
        if _is_synthetic(relation, fd.rhs) or any(_is_synthetic(relation, column) for column in fd.lhs):
            return False
        return not any(list(fd.lhs) == lhs and (rhs == ["*"] or fd.rhs in rhs) for _, lhs, rhs in forbidden)

    exact = [fd for fd in found.dependencies if fd.exact and allowed(fd)]
    approximate = [fd for fd in found.dependencies if not fd.exact and allowed(fd)]
    return exact, approximate


def _forced_dependencies(relation: Relation, hints: Hints) -> list[FunctionalDependency]:
    forced = []
    for index, text in enumerate(hints.dependencies.get("force", [])):
        table, lhs, rhs_columns = parse_dependency(text, "force", index)
        if table != relation.name:
            continue
        for rhs in rhs_columns:
            forced.append(measure_dependency(relation, tuple(lhs), rhs))
    for index, entry in enumerate(hints.split):
        if entry.get("table") != relation.name:
            continue
        _check_split_hint(relation, entry, index)
        for rhs in entry.get("columns", []):
            forced.append(measure_dependency(relation, tuple(entry.get("key", [])), rhs))
    return forced


def _check_split_hint(relation: Relation, entry: dict[str, Any], index: int) -> None:
    key, columns = entry.get("key"), entry.get("columns")
    if not isinstance(key, list) or not key or not isinstance(columns, list) or not columns:
        raise InputError(f"split hint for table {relation.name} needs non-empty 'key' and 'columns' lists",
                         place=f"split[{index}]",
                         fix='write {"table": T, "key": ["customer_id"], "columns": ["customer_name"], "name": NEW}')
    unknown = [column for column in key + columns if column not in relation.columns]
    if unknown:
        raise InputError(f"split hint names {', '.join(map(str, unknown))}, which table {relation.name} does not have",
                         place=f"split[{index}]", fix=f"use columns of {relation.name}: {', '.join(relation.columns)}")


def measure_dependency(relation: Relation, lhs: tuple[str, ...], rhs: str) -> FunctionalDependency:
    """Measure one FD on every row, with the NULL rule of ``dmodel.dependencies``."""
    groups: dict[tuple[Any, ...], Counter[Any]] = {}
    for row in relation.rows:
        left = tuple(_hashable(row.get(column)) for column in lhs)
        if any(is_null(row.get(column)) for column in lhs):
            continue
        value = row.get(rhs)
        groups.setdefault(left, Counter())[None if is_null(value) else _hashable(value)] += 1
    repeating = [counts for counts in groups.values() if sum(counts.values()) > 1]
    rows = sum(sum(counts.values()) for counts in repeating)
    violations = sum(sum(counts.values()) - max(counts.values()) for counts in repeating)
    return FunctionalDependency(lhs=lhs, rhs=rhs, error=violations / rows if rows else 0.0,
                                support=len(repeating), violations=violations, rows=rows)


def _hashable(value: Any) -> Any:
    """Return ``value`` as a dictionary key that keeps ``True`` apart from ``1``."""
    if isinstance(value, (dict, list)):
        return repr(value)
    return (bool, value) if value.__class__ is bool else value


# -- naming --------------------------------------------------------------------

_ID_SUFFIX = re.compile(r"_(id|ids|number|no|code|key|uuid|sku|ref|num)\Z")


# Identifiers whose name says which entity they identify.
_IDENTIFIED_ENTITIES = {"sku": "product", "upc": "product", "ean": "product", "gtin": "product", "isbn": "book"}


def _entity_stem(item: _Class) -> str:
    representative = item.representative
    if len(representative) == 1:
        name = snake_case(representative[0])
        if name in _IDENTIFIED_ENTITIES:
            return _IDENTIFIED_ENTITIES[name]
        stem = _ID_SUFFIX.sub("", name)
        if stem != name and stem:
            return stem
    prefix = _common_prefix([snake_case(column) for column in item.moved])
    if prefix:
        return prefix
    return "_".join(_ID_SUFFIX.sub("", snake_case(column)) for column in representative)


def _common_prefix(names: list[str]) -> str:
    if len(names) < 2:
        return ""
    words = [name.split("_") for name in names]
    prefix: list[str] = []
    for parts in zip(*words):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    if any(len(prefix) >= len(parts) for parts in words):
        prefix = prefix[:-1]
    return "_".join(prefix)


def _strip_prefix(columns: list[str], stem: str, keep: Iterable[str]) -> dict[str, str]:
    """Map each column to its name in the extracted relation (``customer_email`` -> ``email``)."""
    keep = set(keep)
    renamed: dict[str, str] = {}
    taken = set(keep)
    for column in columns:
        if column in keep:
            renamed[column] = column
            continue
        candidate = column
        prefix = stem + "_"
        if column.startswith(prefix) and column[len(prefix):] and not column[len(prefix)].isdigit():
            candidate = column[len(prefix):]
        if candidate in taken or candidate in columns and candidate != column:
            candidate = column
        taken.add(candidate)
        renamed[column] = candidate
    return renamed


# -- the step ------------------------------------------------------------------


def normalize(relations: RelationSet, hints: Hints | None = None, *,
              options: NormalizeOptions | None = None) -> RelationSet:
    """Return a new relation set in which every relation is in 3NF and has its natural key set."""
    options = options or NormalizeOptions()
    hints = hints or Hints()
    result = RelationSet(links=list(relations.links), decisions=list(relations.decisions),
                         questions=list(relations.questions), warnings=list(relations.warnings))
    for relation in relations.relations.values():
        result.add(replace(relation, columns=list(relation.columns), key=list(relation.key) if relation.key else None,
                           column_sources=dict(relation.column_sources), profiles=dict(relation.profiles)))
    taken = set(result.relations)
    for name in list(relations.relations):
        relation = result.relations[name]
        if relation.junction or not relation.rows:
            continue
        _normalize_relation(relation, result, hints, options, taken)
    return result


def _normalize_relation(relation: Relation, result: RelationSet, hints: Hints, options: NormalizeOptions,
                        taken: set[str]) -> None:
    groups = find_repeating_groups(relation) if options.repeating_groups else []
    grouped = {column for group in groups for column in group.columns()}
    working = replace(relation, columns=[column for column in relation.columns if column not in grouped])
    found = discover_dependencies(working, options.dependency_options())
    key = _choose_key(relation, found, hints, result)
    relation.key = key

    exact, approximate = _usable_dependencies(found, key, relation, hints)
    forced = _forced_dependencies(relation, hints)
    order = {column: position for position, column in enumerate(relation.columns)}
    classes = _plan_classes(relation, exact, forced, found, options, order, result)
    for entry in hints.split:
        for item in classes:
            if entry.get("table") == relation.name and tuple(entry.get("key", [])) in item.members:
                item.requested_name = str(entry.get("name") or "")
    if classes:
        _apply_split(relation, classes, found, result, taken, order)
    _ask_about_approximate(relation, approximate, classes, options, result)
    for group in groups:
        _extract_group(relation, group, result, taken)
    _mark_junction(relation, result)


def _plan_classes(relation: Relation, exact: list[FunctionalDependency], forced: list[FunctionalDependency],
                  found: Dependencies, options: NormalizeOptions, order: dict[str, int],
                  result: RelationSet) -> list[_Class]:
    forced_lhs = {fd.lhs for fd in forced}
    usable = exact + [fd for fd in forced if fd not in exact]
    classes = _build_classes(usable, order, relation, found.kinds)
    for item in classes:
        item.forced = any(member in forced_lhs for member in item.members)
    strong = [item for item in classes if _is_strong(item, options)]
    weak = [item for item in classes if item not in strong]

    # Recompute with the strong classes alone, so that a weak class's columns
    # stay with the class that determines it.
    strong_lhs = {member for item in strong for member in item.members}
    final = _build_classes([fd for fd in usable if fd.lhs in strong_lhs], order, relation, found.kinds)
    for item in final:
        item.forced = any(member in forced_lhs for member in item.members)
    final = [item for item in final if _is_strong(item, options)]

    in_strong = {column for item in final for column in item.attributes}
    asked = 0
    for item in sorted(weak, key=lambda item: -item.support):
        if len(item.representative) > 1 and (item.support < 2 or in_strong & set(item.representative)):
            # A composite of columns that already reference an entity, or one
            # that repeats once, is an accident of the sample.
            continue
        strong_keys = {column for strong in final for column in strong.representative}
        if asked < _MAX_QUESTIONS and _ask_about_weak_class(relation, item, options, result, strong_keys):
            asked += 1
    return final


def _ask_about_weak_class(relation: Relation, item: _Class, options: NormalizeOptions,
                          result: RelationSet, strong_keys: set[str]) -> bool:
    identifier = len(item.representative) == 1 and is_identifier_like(item.representative[0])
    if item.support < 1 or not item.moved or not (identifier or len(item.moved) >= 2):
        return False
    if set(item.moved) <= strong_keys:
        # It only determines the key of an entity already extracted: an alternate key with typos.
        return False
    lhs = ", ".join(item.representative)
    name = pluralize(_entity_stem(item))
    result.questions.append(Question(
        code="Q302", subject=relation.name,
        question=(f"In {relation.name}, {lhs} determines {', '.join(item.moved)}, but only "
                  f"{item.support} value(s) of {lhs} repeat (a split needs {options.min_support}). "
                  f"Is it a separate entity ({name})?"),
        options=[f"split into {name}", f"keep in {relation.name}"],
        hint={"split": [{"table": relation.name, "key": list(item.representative),
                         "columns": list(item.moved), "name": name}]}))
    return True


def _ask_about_approximate(relation: Relation, approximate: list[FunctionalDependency], classes: list[_Class],
                           options: NormalizeOptions, result: RelationSet) -> None:
    representatives = {item.representative: item for item in classes}
    for fd in approximate:
        identifier = len(fd.lhs) == 1 and is_identifier_like(fd.lhs[0])
        if fd.support < options.min_support or not (fd.lhs in representatives or identifier):
            continue
        if fd.lhs in representatives and fd.rhs in representatives[fd.lhs].moved:
            continue
        rule = f"{relation.name}: {', '.join(fd.lhs)} -> {fd.rhs}"
        result.questions.append(Question(
            code="Q303", subject=f"{relation.name}.{fd.rhs}",
            question=(f"{', '.join(fd.lhs)} -> {fd.rhs} holds for all but {fd.violations} of {fd.rows} rows "
                      f"(g3 error {fd.error:.2%}). Are those rows typos, so that {fd.rhs} belongs with "
                      f"{', '.join(fd.lhs)}? Forcing it keeps the most frequent value for each "
                      f"{', '.join(fd.lhs)}."),
            options=[f"move {fd.rhs} (keep the most frequent value)", f"keep {fd.rhs} in {relation.name}"],
            hint={"dependencies": {"force": [rule]}}))


def _apply_split(relation: Relation, classes: list[_Class], found: Dependencies, result: RelationSet,
                 taken: set[str], order: dict[str, int]) -> None:
    rows = relation.rows
    key_columns = set(relation.key or [])
    flags = {column: _null_flags(rows, column, found)
             for column in {column for item in classes for column in item.representative}}
    measured = {(fd.lhs, fd.rhs) for fd in found.dependencies if fd.exact}

    # The NULL rule: a column moves only if it is NULL wherever the representative is.
    for item in classes:
        null_rows = [row for index, row in enumerate(rows)
                     if any(flags[column][index] for column in item.representative)]
        kept = [column for column in item.moved
                if any(not is_null(row.get(column)) for row in null_rows) or column in key_columns]
        if kept:
            result.decisions.append(Decision(
                code="N306", subject=relation.name,
                message=(f"{', '.join(kept)} stay in {relation.name}: rows with an empty "
                         f"{', '.join(item.representative)} hold values there that a split would lose"),
                evidence={"rows_with_empty_key": len(null_rows)}))
        # Transitivity fails where a middle column is NULL (a NULL left-hand side
        # is no evidence), so every column reached through another is measured.
        unproven = [column for column in item.moved if column not in kept and not item.forced
                    and (item.representative, column) not in measured
                    and measure_dependency(relation, item.representative, column).violations]
        if unproven:
            result.decisions.append(Decision(
                code="N306", subject=relation.name,
                message=(f"{', '.join(unproven)} stay in {relation.name}: {', '.join(item.representative)} "
                         "determines them only through a column that is empty in some rows"),
                evidence={"columns": unproven}))
            kept += unproven
        item.dependents = [column for column in item.dependents if column not in kept]
        item.attributes = {column for column in item.attributes
                           if column in item.representative or column not in kept}
    classes = [item for item in classes if item.moved]
    if not classes:
        return
    final_keys = {column for item in classes for column in item.representative}
    rows = _null_tokens_to_none(relation, {column: flags[column] for column in final_keys})

    moved = {column for item in classes for column in item.moved}
    main_columns = [column for column in relation.columns if column not in moved]
    extracted: list[tuple[_Class, Relation, dict[str, str]]] = []
    for item in sorted(classes, key=lambda item: [order[column] for column in item.representative]):
        stem = _entity_stem(item)
        item.name = unique_name(item.requested_name or pluralize(stem), taken)
        columns = list(item.representative) + sorted(item.moved, key=order.__getitem__)
        renamed = _strip_prefix(columns, stem, item.representative)
        child_rows = _distinct_rows(rows, item.representative, columns, renamed, majority=item.forced)
        new = Relation(name=item.name, columns=[renamed[column] for column in columns], rows=child_rows,
                       dataset=relation.dataset, key=list(item.representative),
                       column_sources={renamed[column]: relation.column_sources.get(column, f"{relation.name}.{column}")
                                       for column in columns},
                       profiles={renamed[column]: relation.profiles[column] for column in columns
                                 if column in relation.profiles},
                       description=f"extracted from {relation.name}")
        result.add(new)
        extracted.append((item, new, renamed))
        confidence = round(item.support / (item.support + 1), 2)
        moved_columns = sorted(item.moved, key=order.__getitem__)
        result.decisions.append(Decision(
            code="N303", subject=item.name,
            message=(f"{', '.join(item.representative)} determines {', '.join(moved_columns)} in {relation.name}: "
                     f"they move to {item.name}"),
            evidence={"relation": relation.name, "key": list(item.representative),
                      "equivalent_keys": [list(member) for member in item.members if member != item.representative],
                      "support": item.support, "rows": len(rows), "distinct": len(child_rows),
                      "columns": {renamed[column]: column for column in columns},
                      "forced": item.forced},
            confidence=1.0 if item.forced else confidence))

    relation.columns = main_columns
    relation.rows = [{column: row.get(column) for column in main_columns} for row in rows]
    relation.profiles = {column: profile for column, profile in relation.profiles.items() if column in main_columns}
    _retarget_links(relation, extracted, result)

    for item, new, _ in extracted:
        holders = [(relation, {column: column for column in main_columns})] + \
            [(other, renamed) for other_item, other, renamed in extracted if other_item is not item]
        for holder, renamed in holders:
            if all(column in renamed and renamed[column] in holder.columns for column in item.representative):
                child_columns = [renamed[column] for column in item.representative]
                if holder is not relation and set(child_columns) == set(holder.key or []):
                    continue
                optional = any(is_null(row.get(column)) for row in holder.rows for column in child_columns)
                result.links.append(Link(
                    child=holder.name, child_columns=child_columns, parent=new.name,
                    parent_columns=list(item.representative), kind="reference", optional=optional,
                    reason=f"{', '.join(child_columns)} determines the columns moved to {new.name}"))


def _null_flags(rows: list[dict[str, Any]], column: str, found: Dependencies) -> list[bool]:
    """Flag the rows whose ``column`` FD discovery read as NULL (see ``dmodel.dependencies``)."""
    values = [row.get(column) for row in rows]
    if found.kinds.get(column) in (INTEGER, REAL, MEASURE, IDENTIFIER):
        return [value is None or value == "" or value != value
                or (value.__class__ is str and value.strip() in NULL_TOKENS) for value in values]
    return [value is None or value == "" or value != value for value in values]


def _null_tokens_to_none(relation: Relation, flags: dict[str, list[bool]]) -> list[dict[str, Any]]:
    """Return the rows with NULL spellings in the flagged columns set to None, as discovery read them."""
    changed = [column for column, column_flags in flags.items()
               if any(flag and row.get(column) is not None for flag, row in zip(column_flags, relation.rows))]
    if not changed:
        return relation.rows
    rows = [dict(row) for row in relation.rows]
    for column in changed:
        for flag, row in zip(flags[column], rows):
            if flag:
                row[column] = None
    relation.rows = rows
    return rows


def _distinct_rows(rows: list[dict[str, Any]], key: tuple[str, ...], columns: list[str],
                   renamed: dict[str, str], majority: bool) -> list[dict[str, Any]]:
    """Return one row per non-NULL key value, in order of first appearance."""
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    tallies: dict[tuple[Any, ...], dict[str, Counter[Any]]] = {}
    for row in rows:
        value = tuple(_hashable(row.get(column)) for column in key)
        if any(is_null(row.get(column)) for column in key):
            continue
        if value not in first:
            first[value] = {renamed[column]: row.get(column) for column in columns}
        if majority:
            tally = tallies.setdefault(value, {column: Counter() for column in columns})
            for column in columns:
                tally[column][_hashable(row.get(column))] += 1
    if majority:
        for value, stored in first.items():
            for column in columns:
                counts = tallies[value][column]
                best = max(counts.values())
                # Ties keep the value seen first.
                for candidate in counts:
                    if counts[candidate] == best:
                        if candidate != _hashable(stored[renamed[column]]):
                            stored[renamed[column]] = candidate
                        break
    return list(first.values())


def _retarget_links(relation: Relation, extracted: list[tuple[_Class, Relation, dict[str, str]]],
                    result: RelationSet) -> None:
    """Move links whose child columns left ``relation`` to the relation that now contains them."""
    for index, link in enumerate(result.links):
        if link.child != relation.name or all(column in relation.columns for column in link.child_columns):
            continue
        for _, new, renamed in extracted:
            if all(column in renamed for column in link.child_columns):
                result.links[index] = replace(link, child=new.name,
                                              child_columns=[renamed[column] for column in link.child_columns])
                break


def _mark_junction(relation: Relation, result: RelationSet) -> None:
    """Mark a relation left with two foreign keys and nothing else as a junction table."""
    links = [link for link in result.links if link.child == relation.name and link.kind == "reference"]
    synthetic = [column for column in relation.columns if _is_synthetic(relation, column)]
    plain = [column for column in relation.columns if column not in synthetic]
    linked = [column for link in links for column in link.child_columns]
    if len(links) != 2 or sorted(plain) != sorted(linked) or len(set(linked)) != len(linked):
        return
    if relation.key and not set(relation.key) <= set(synthetic) and set(relation.key) != set(plain):
        return
    pairs = [tuple(row.get(column) for column in plain) for row in relation.rows]
    if any(is_null(value) for pair in pairs for value in pair) or len(set(pairs)) != len(pairs):
        return
    relation.junction = True
    relation.key = plain
    relation.columns = plain
    relation.rows = [{column: row[column] for column in plain} for row in relation.rows]
    parents = [link.parent for link in links]
    result.decisions.append(Decision(
        code="N305", subject=relation.name,
        message=f"{relation.name} contains only references to {parents[0]} and {parents[1]}: it is a junction table",
        evidence={"rows": len(relation.rows), "dropped": synthetic}))


# -- repeating groups ----------------------------------------------------------

_NUMBERED = re.compile(r"(?P<stem>[a-z][a-z_]*?)_?(?P<number>\d{1,2})(?:_(?P<field>[a-z][a-z0-9_]*))?\Z")
_LABEL_STOPWORDS = frozenset("""
min max avg mean total sum start end from to first last old new prev previous next current created updated
is has num count date time
""".split())
_ADDRESS_LINE_WORDS = frozenset({"line", "street", "address", "addr"})
_ADDRESS_WORDS = frozenset("street city state postal zip country line1 line2 address province region postcode "
                           "county suburb".split())


@dataclass
class RepeatingGroup:
    """Columns that repeat one set of fields: ``members`` maps a position or label to field -> column."""

    stem: str
    members: dict[Any, dict[str, str]]
    labelled: bool

    def columns(self) -> list[str]:
        return [column for fields in self.members.values() for column in fields.values()]


def find_repeating_groups(relation: Relation) -> list[RepeatingGroup]:
    """Find numbered columns and labelled blocks with the same fields in ``relation``."""
    protected = set(relation.key or [])
    columns = [column for column in relation.columns if column not in protected and not _is_synthetic(relation, column)]
    names = {column: snake_case(column) for column in columns}
    groups = _numbered_groups(columns, names)
    used = {column for group in groups for column in group.columns()}
    groups += _labelled_groups([column for column in columns if column not in used], names)
    return groups


def _numbered_groups(columns: list[str], names: dict[str, str]) -> list[RepeatingGroup]:
    found: dict[str, dict[int, dict[str, str]]] = {}
    for column in columns:
        match = _NUMBERED.match(names[column])
        if not match:
            continue
        stem = match["stem"].rstrip("_")
        if not stem or stem.split("_")[-1] in ("v", "x", "y", "q") or int(match["number"]) > 20:
            continue
        if match["field"] is None and stem.split("_")[-1] in _ADDRESS_LINE_WORDS:
            # ``address1, address2`` and ``address_line_1, address_line_2`` are lines of one address.
            continue
        field_name = match["field"] or stem.rsplit("_", 1)[-1]
        found.setdefault(stem, {}).setdefault(int(match["number"]), {})[field_name] = column
    groups = []
    by_name = {name: column for column, name in names.items()}
    for stem, members in found.items():
        shapes = {tuple(sorted(fields)) for fields in members.values()}
        if len(shapes) != 1:
            continue
        if min(members) == 2 and len(next(iter(shapes))) == 1 and stem in by_name:
            # ``email`` beside ``email_2``: the unnumbered column is the first.
            members[1] = {next(iter(shapes))[0]: by_name[stem]}
        if len(members) < 2:
            continue
        groups.append(RepeatingGroup(stem=stem, members=dict(sorted(members.items())), labelled=False))
    return groups


def _labelled_groups(columns: list[str], names: dict[str, str]) -> list[RepeatingGroup]:
    by_label: dict[str, dict[str, str]] = {}
    for column in columns:
        label, _, rest = names[column].partition("_")
        if rest and label not in _LABEL_STOPWORDS:
            by_label.setdefault(label, {})[rest] = column
    by_shape: dict[tuple[str, ...], list[str]] = {}
    for label, fields in by_label.items():
        if len(fields) >= 2:
            by_shape.setdefault(tuple(sorted(fields)), []).append(label)
    groups = []
    for shape, labels in by_shape.items():
        if len(labels) < 2 or any(field_name == "id" or field_name.endswith("_id") for field_name in shape):
            # ``city_id, city_name`` beside ``product_id, product_name`` are two entities, not one block.
            continue
        words = {word for field_name in shape for word in field_name.split("_")}
        if len(words & _ADDRESS_WORDS) >= 2:
            stem = "address"
        elif len(shape) >= 3:
            stem = _common_prefix(list(shape)) or "detail"
        else:
            continue
        members = {label: by_label[label] for label in labels}
        groups.append(RepeatingGroup(stem=stem, members=members, labelled=True))
    return groups


def _extract_group(relation: Relation, group: RepeatingGroup, result: RelationSet, taken: set[str]) -> None:
    if not relation.key:
        _add_row_number(relation)
    parent_key = list(relation.key or [])
    owner = singularize(relation.name)

    # Child columns: the parent's key, the position or label, then the fields,
    # each made unique (a parent keyed by ``city`` beside a ``billing_city``).
    child_names: set[str] = set()
    foreign = {column: unique_name(f"{owner}_id" if column == "id" else column, child_names) for column in parent_key}
    marker = unique_name("label" if group.labelled else "position", child_names)
    fields = {field_name: unique_name(field_name, child_names) for field_name in next(iter(group.members.values()))}
    name = unique_name(f"{owner}_{pluralize(group.stem)}", taken)
    columns = list(foreign.values()) + [marker] + list(fields.values())

    rows = []
    for row in relation.rows:
        for position, members in group.members.items():
            values = {fields[field_name]: row.get(column) for field_name, column in members.items()}
            if all(is_null(value) for value in values.values()):
                continue
            child = {foreign[column]: row.get(column) for column in parent_key}
            child[marker] = position
            child.update(values)
            rows.append(child)

    sources = {foreign[column]: f"{relation.name}.{column}" for column in parent_key}
    sources[marker] = f"{relation.name} column names"
    sources.update({fields[field_name]: relation.column_sources.get(column, f"{relation.name}.{column}")
                    for field_name, column in next(iter(group.members.values())).items()})
    result.add(Relation(name=name, columns=columns, rows=rows, dataset=relation.dataset,
                        key=list(foreign.values()) + [marker], column_sources=sources,
                        description=f"repeating group of {relation.name}"))
    result.links.append(Link(child=name, child_columns=list(foreign.values()), parent=relation.name,
                             parent_columns=parent_key, kind="owned", optional=False,
                             reason=f"{', '.join(group.columns())} repeat one set of fields"))
    grouped = set(group.columns())
    relation.columns = [column for column in relation.columns if column not in grouped]
    relation.rows = [{column: row.get(column) for column in relation.columns} for row in relation.rows]
    members = {str(position): {fields[field_name]: column for field_name, column in member.items()}
               for position, member in group.members.items()}
    result.decisions.append(Decision(
        code="N304", subject=name,
        message=f"{', '.join(group.columns())} of {relation.name} are a repeating group: they become {name}",
        evidence={"members": members, "marker": marker, "rows": len(rows)}))


def _add_row_number(relation: Relation) -> None:
    column = unique_name("row_number", set(relation.columns))
    relation.rows = [{**row, column: position} for position, row in enumerate(relation.rows, start=1)]
    relation.columns.append(column)
    relation.column_sources[column] = f"{relation.dataset} (position)"
    relation.key = [column]


# -- the same entity across datasets -------------------------------------------

# Weights of the evidence that two relations hold one entity, and the bars a
# pair must clear: merged at MERGE_SCORE, asked about from ASK_SCORE.
_KEY_WEIGHT, _COLUMN_WEIGHT, _NAME_WEIGHT = 0.5, 0.3, 0.2
MERGE_SCORE = 0.6
ASK_SCORE = 0.4
# Share of shared columns whose values must agree on matching keys before a merge.
MIN_AGREEMENT = 0.9


def key_text(value: Any) -> str | None:
    """Return a key value as comparable text: ``7``, ``7.0`` and ``"7"`` are one key."""
    if is_null(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def match_entities(relations: RelationSet, hints: Hints | None = None) -> RelationSet:
    """Merge relations that hold the same entity and link columns that hold another relation's keys.

    Two relations with one-column keys are one entity when enough of the
    smaller one's key values occur in the larger one, their columns (less the
    entity prefix) overlap, and their names agree; the score weighs the three
    and is recorded as the decision's confidence. Columns of the merged
    relation keep the larger relation's names, and its key values keep its
    type. Then a column named like ``<entity>_id`` whose values are all keys
    of that entity becomes a reference to it, with its values converted to
    the key's type. Merge and conversion update the given relations in place.
    """
    hints = hints or Hints()
    result = RelationSet(relations=dict(relations.relations), links=list(relations.links),
                         decisions=list(relations.decisions), questions=list(relations.questions),
                         warnings=list(relations.warnings))
    forced = [group for group in hints.merge if len(group) >= 2]
    merged = True
    while merged:
        merged = False
        for first, second, evidence in _entity_pairs(result, forced):
            if evidence["score"] >= MERGE_SCORE and evidence["agreement"] >= MIN_AGREEMENT or evidence["forced"]:
                _merge(result, first, second, evidence)
                merged = True
                break
            plausible = evidence["column_similarity"] >= 0.3 or evidence["same_name"]
            if evidence["score"] >= ASK_SCORE and plausible and not _asked(result, first, second):
                result.questions.append(Question(
                    code="Q310", subject=f"{first.name}, {second.name}",
                    question=(f"Are {first.name} and {second.name} the same entity? "
                              f"{evidence['key_overlap']:.0%} of the keys of the smaller one occur in the other "
                              f"and {evidence['column_similarity']:.0%} of their columns match."),
                    options=["merge them", "keep them apart"],
                    hint={"merge": [[first.name, second.name]]}))
    _link_references(result)
    _name_self_junction_roles(result)
    return result


def _asked(result: RelationSet, first: Relation, second: Relation) -> bool:
    return any(question.code == "Q310" and question.subject == f"{first.name}, {second.name}"
               for question in result.questions)


def _entity_pairs(result: RelationSet, forced: list[list[str]]) -> list[tuple[Relation, Relation, dict[str, Any]]]:
    candidates = [relation for relation in result.relations.values()
                  if not relation.junction and relation.key and len(relation.key) == 1 and relation.rows]
    pairs = []
    for index, first in enumerate(candidates):
        for second in candidates[index + 1:]:
            is_forced = any(first.name in group and second.name in group for group in forced)
            evidence = _match_evidence(first, second)
            evidence["forced"] = is_forced
            if evidence["key_overlap"] == 0 and not is_forced:
                continue
            # The relation with more rows (then the earlier name) absorbs the other.
            keep, absorb = (first, second) if (len(first.rows), second.name) >= (len(second.rows), first.name) \
                else (second, first)
            pairs.append((keep, absorb, evidence))
    pairs.sort(key=lambda pair: -pair[2]["score"])
    return pairs


def _entity_columns(relation: Relation) -> dict[str, str]:
    """Map each non-key column to its name less the entity prefix (``customer_email`` -> ``email``)."""
    prefix = singularize(relation.name) + "_"
    key = set(relation.key or [])
    return {column: column[len(prefix):] if column.startswith(prefix) and len(column) > len(prefix) else column
            for column in relation.columns if column not in key}


def _match_evidence(first: Relation, second: Relation) -> dict[str, Any]:
    first_keys = {key_text(value) for value in first.values(first.key[0])} - {None}
    second_keys = {key_text(value) for value in second.values(second.key[0])} - {None}
    smaller = min(len(first_keys), len(second_keys)) or 1
    overlap = len(first_keys & second_keys) / smaller

    first_columns = _entity_columns(first)
    second_columns = _entity_columns(second)
    shared = set(first_columns.values()) & set(second_columns.values())
    union = set(first_columns.values()) | set(second_columns.values())
    similarity = len(shared) / len(union) if union else 0.0
    same_name = singularize(first.name) == singularize(second.name) or \
        singularize(first.name).endswith("_" + singularize(second.name)) or \
        singularize(second.name).endswith("_" + singularize(first.name))

    agreement = _agreement(first, second, first_columns, second_columns, shared)
    score = _KEY_WEIGHT * overlap + _COLUMN_WEIGHT * similarity + _NAME_WEIGHT * same_name
    return {"key_overlap": round(overlap, 3), "column_similarity": round(similarity, 3),
            "same_name": same_name, "shared_columns": sorted(shared), "agreement": round(agreement, 3),
            "score": round(score, 3)}


def _agreement(first: Relation, second: Relation, first_columns: dict[str, str], second_columns: dict[str, str],
               shared: set[str]) -> float:
    """Return the share of compared values that agree between rows with the same key."""
    if not shared:
        return 1.0
    first_by_key = {key_text(row.get(first.key[0])): row for row in first.rows}
    first_names = {entity: column for column, entity in first_columns.items()}
    second_names = {entity: column for column, entity in second_columns.items()}
    compared = agreed = 0
    for row in second.rows:
        match = first_by_key.get(key_text(row.get(second.key[0])))
        if match is None:
            continue
        for entity in shared:
            left, right = match.get(first_names[entity]), row.get(second_names[entity])
            if is_null(left) or is_null(right):
                continue
            compared += 1
            agreed += key_text(left) == key_text(right)
    return agreed / compared if compared else 1.0


def _merge(result: RelationSet, keep: Relation, absorb: Relation, evidence: dict[str, Any]) -> None:
    keep_key, absorb_key = keep.key[0], absorb.key[0]
    keep_names = {entity: column for column, entity in _entity_columns(keep).items()}
    mapping = {absorb_key: keep_key}
    for column, entity in _entity_columns(absorb).items():
        mapping[column] = keep_names.get(entity, column if column not in keep.columns else f"{absorb.name}_{column}")
    for column in absorb.columns:
        target = mapping[column]
        if target not in keep.columns:
            keep.columns.append(target)
            keep.column_sources[target] = absorb.column_sources.get(column, f"{absorb.name}.{column}")
            for row in keep.rows:
                row.setdefault(target, None)

    convert = _converter([row.get(keep_key) for row in keep.rows])
    by_key = {key_text(row.get(keep_key)): row for row in keep.rows}
    conflicts = 0
    for row in absorb.rows:
        text = key_text(row.get(absorb_key))
        if text is None:
            continue
        stored = by_key.get(text)
        if stored is None:
            stored = {column: None for column in keep.columns}
            stored[keep_key] = convert(row.get(absorb_key))
            keep.rows.append(stored)
            by_key[text] = stored
        for column, value in row.items():
            target = mapping.get(column, column)
            if target == keep_key or is_null(value):
                continue
            if is_null(stored.get(target)):
                stored[target] = value
            elif key_text(stored[target]) != key_text(value):
                conflicts += 1

    del result.relations[absorb.name]
    for index, link in enumerate(result.links):
        if link.parent == absorb.name:
            link = replace(link, parent=keep.name, parent_columns=[mapping.get(c, c) for c in link.parent_columns])
        if link.child == absorb.name:
            link = replace(link, child=keep.name, child_columns=[mapping.get(c, c) for c in link.child_columns])
        result.links[index] = link
        if link.parent == keep.name:
            _convert_column(result.relations[link.child], link.child_columns, convert)
    result.decisions.append(Decision(
        code="N310", subject=keep.name,
        message=f"{absorb.name} is the same entity as {keep.name}: merged into {keep.name}",
        evidence={**evidence, "absorbed": absorb.name, "columns": mapping, "conflicting_values": conflicts},
        confidence=1.0 if evidence["forced"] else min(0.99, evidence["score"])))


def _converter(values: list[Any]) -> Any:
    """Return a function that converts a key value to the type ``values`` have (int or str)."""
    present = [value for value in values if not is_null(value)]
    if present and all(isinstance(value, int) and not isinstance(value, bool) for value in present):
        def to_int(value: Any) -> Any:
            text = key_text(value)
            return int(text) if text is not None and re.fullmatch(r"[+-]?\d+", text) else value
        return to_int
    if present and all(isinstance(value, str) for value in present):
        return lambda value: key_text(value) if not is_null(value) else None
    return lambda value: value


def _convert_column(relation: Relation, columns: list[str], convert: Any) -> None:
    if len(columns) != 1:
        return
    column = columns[0]
    for row in relation.rows:
        if not is_null(row.get(column)):
            row[column] = convert(row[column])


def _link_references(result: RelationSet) -> None:
    """Link ``<entity>_id`` columns whose values are all keys of that entity (``account_id`` -> accounts)."""
    linked = {(link.child, tuple(link.child_columns)) for link in result.links}
    parents = {singularize(relation.name): relation for relation in result.relations.values()
               if relation.key and len(relation.key) == 1 and not relation.junction}
    for relation in list(result.relations.values()):
        for column in relation.columns:
            if (relation.name, (column,)) in linked or [column] == relation.key:
                continue
            parent = _referenced_relation(column, parents)
            if parent is None or parent is relation and column == parent.key[0]:
                continue
            values = {key_text(value) for value in relation.values(column)} - {None}
            keys = {key_text(value) for value in parent.values(parent.key[0])} - {None}
            if not values or not values <= keys:
                continue
            _convert_column(relation, [column], _converter(parent.values(parent.key[0])))
            optional = any(is_null(value) for value in relation.values(column))
            result.links.append(Link(child=relation.name, child_columns=[column], parent=parent.name,
                                     parent_columns=list(parent.key), kind="reference", optional=optional,
                                     reason=f"every value of {relation.name}.{column} is a key of {parent.name}"))
            result.decisions.append(Decision(
                code="N311", subject=f"{relation.name}.{column}",
                message=f"{relation.name}.{column} references {parent.name}",
                evidence={"values": len(values), "parent_keys": len(keys)},
                confidence=round(len(values) / (len(values) + 1), 2)))
    _mark_value_list_junctions(result)


def _referenced_relation(column: str, parents: dict[str, Relation]) -> Relation | None:
    """Return the relation a column name points at: ``account_id`` -> accounts, ``related_contact_id`` -> contacts."""
    match = re.fullmatch(r"(?P<entity>[a-z0-9_]+?)_(id|number|code|key)", snake_case(column))
    if not match:
        return None
    words = match["entity"].split("_")
    for start in range(len(words)):
        parent = parents.get("_".join(words[start:]))
        if parent is not None:
            return parent
    return None


def _mark_value_list_junctions(result: RelationSet) -> None:
    """Mark a two-column table whose columns are its key and both references as a junction table."""
    for relation in result.relations.values():
        if relation.junction or not relation.key or sorted(relation.key) != sorted(relation.columns):
            continue
        links = [link for link in result.links if link.child == relation.name and len(link.child_columns) == 1]
        covered = sorted(link.child_columns[0] for link in links)
        if len(relation.columns) != 2 or covered != sorted(relation.columns):
            continue
        relation.junction = True
        result.decisions.append(Decision(
            code="N305", subject=relation.name,
            message=(f"{relation.name} contains only references to {links[0].parent} and {links[1].parent}: "
                     "it is a junction table"),
            evidence={"rows": len(relation.rows)}))


def _name_self_junction_roles(result: RelationSet) -> None:
    """Give the two columns of a junction between a table and itself distinct role names."""
    for relation in result.relations.values():
        if not relation.junction:
            continue
        links = [link for link in result.links if link.child == relation.name]
        if len(links) != 2 or links[0].parent != links[1].parent:
            continue
        first, second = links[0].child_columns, links[1].child_columns
        if len(first) != 1 or len(second) != 1:
            continue
        plain = singularize(links[0].parent) + "_id"
        if first[0] not in (plain, f"{plain}_2") or second[0] not in (plain, f"{plain}_2"):
            continue
        renames = {first[0]: "parent_id", second[0]: "child_id"}
        relation.columns = [renames.get(column, column) for column in relation.columns]
        relation.rows = [{renames.get(column, column): value for column, value in row.items()} for row in relation.rows]
        relation.key = [renames.get(column, column) for column in relation.key or []]
        for index, link in enumerate(result.links):
            if link.child == relation.name:
                result.links[index] = replace(link, child_columns=[renames.get(c, c) for c in link.child_columns])
