"""Index advice: an index for every foreign key and for every expected query.

SQLite creates no index for a foreign key, so joins and ON DELETE actions
scan the child table without one. A query pattern gets a composite index
with its equality filters first and its sort columns after them, which lets
SQLite both find and order the rows from the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dmodel.conventions import index_name, quote_identifier
from dmodel.model import Decision, Entity, Index, QueryPattern, Warning


@dataclass
class IndexAdvice:
    decisions: list[Decision] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)


def advise(entities: list[Entity], patterns: list[QueryPattern]) -> IndexAdvice:
    """Add foreign-key and query-pattern indexes to ``entities`` in place and return the evidence."""
    advice = IndexAdvice()
    by_name = {entity.name: entity for entity in entities}
    for entity in entities:
        for foreign_key in entity.foreign_keys:
            if _covered(entity, foreign_key.columns):
                continue
            _add(entity, Index(
                name=index_name(entity.name, foreign_key.columns), columns=list(foreign_key.columns),
                reason=(f"foreign key to {foreign_key.ref_table}: joins and ON DELETE "
                        f"{foreign_key.on_delete} look up {entity.name} rows by "
                        f"{', '.join(foreign_key.columns)}")))

    for pattern in patterns:
        entity = by_name.get(pattern.entity)
        if entity is None:
            advice.warnings.append(Warning(
                code="W401", subject=pattern.entity,
                message=f"query pattern names table {pattern.entity}, which the model does not have",
                fix="name a table from the model in the query pattern's 'entity', or rename it with a hint"))
            continue
        known = {column.name for column in entity.columns}
        unknown = [column for column in [*pattern.filter, *pattern.sort] if column not in known]
        if unknown:
            advice.warnings.append(Warning(
                code="W402", subject=f"{entity.name}({', '.join(unknown)})",
                message=f"query pattern on {entity.name} uses unknown column(s) {', '.join(unknown)}",
                fix=f"use columns of {entity.name}: {', '.join(sorted(known))}"))
            continue
        # Equality filters lead; a column that is both filtered and sorted on is a range and follows them.
        equality = [column for column in pattern.filter if column not in pattern.sort]
        columns = list(dict.fromkeys([*equality, *pattern.sort]))
        if not columns:
            continue
        query = _query_text(entity.name, pattern)
        if _covered(entity, columns, exact_prefix=True):
            advice.decisions.append(Decision(
                code="I102", subject=f"{entity.name}({', '.join(columns)})",
                message=f"an existing index already serves: {query}"))
            continue
        reason = (f"serves '{pattern.description or query}'" + (f" ({pattern.frequency})" if pattern.frequency else "")
                  + "; equality filters lead, sort columns follow so rows come out in order")
        _add(entity, Index(name=index_name(entity.name, columns), columns=columns, reason=reason, query=query))
        advice.decisions.append(Decision(code="I101", subject=f"{entity.name}({', '.join(columns)})",
                                         message=f"index for the query: {query}"))
    for entity in entities:
        _drop_prefix_duplicates(entity)
    return advice


def _query_text(table: str, pattern: QueryPattern) -> str:
    where = " AND ".join(f"{quote_identifier(column)} {'>=' if column in pattern.sort else '='} ?"
                         for column in pattern.filter)
    order = ", ".join(quote_identifier(column) for column in pattern.sort)
    text = f"SELECT * FROM {quote_identifier(table)}"
    if where:
        text += f" WHERE {where}"
    if order:
        text += f" ORDER BY {order}"
    return text


def _covered(entity: Entity, columns: list[str], exact_prefix: bool = False) -> bool:
    """Return True when an index or key already starts with ``columns``."""
    leading = [entity.primary_key, *entity.unique_constraints, *(index.columns for index in entity.indexes)]
    leading += [[column.name] for column in entity.columns if column.unique]
    return any(existing[:len(columns)] == list(columns) for existing in leading)


def _add(entity: Entity, index: Index) -> None:
    if all(existing.name != index.name for existing in entity.indexes):
        entity.indexes.append(index)


def _drop_prefix_duplicates(entity: Entity) -> None:
    """Drop a foreign-key index whose columns lead a longer index on the same table."""
    kept: list[Index] = []
    for index in entity.indexes:
        longer = [other for other in entity.indexes if other is not index and len(other.columns) > len(index.columns)
                  and other.columns[:len(index.columns)] == index.columns and not index.unique]
        if longer and index.query is None:
            continue
        kept.append(index)
    entity.indexes = sorted(kept, key=lambda index: index.name)
