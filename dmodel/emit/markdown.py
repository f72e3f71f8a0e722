"""Markdown documents: the data dictionary and the index advice."""

from __future__ import annotations

from dmodel.emit.mermaid import render_erd
from dmodel.emit.sql import create_index_sql
from dmodel.model import Entity, Model


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_indexes(model: Model) -> str:
    """Return ``indexes.md``: every recommended index, the query it serves and why."""
    lines = [f"# Index recommendations for {model.name}", "",
             "Every foreign key has an index led by its column, because SQLite creates none and joins and",
             "ON DELETE actions would scan the child table. Query patterns from discovery get composite",
             "indexes: equality filters first, sort columns after them. All of these are in `schema.sql`."]
    for entity in model.entities:
        if not entity.indexes:
            continue
        lines += ["", f"## {entity.name}", ""]
        for index in entity.indexes:
            lines.append(f"- `{index.name}` on ({', '.join(index.columns)}): {index.reason}")
            if index.query:
                lines.append(f"  - query: `{index.query}`")
            lines.append(f"  - DDL: `{create_index_sql(entity, index)}`")
    return "\n".join(lines) + "\n"


def _key_marks(entity: Entity, column_name: str) -> str:
    marks = []
    if column_name in entity.primary_key:
        marks.append("PK")
    for foreign_key in entity.foreign_keys:
        if column_name in foreign_key.columns:
            marks.append(f"FK -> {foreign_key.ref_table}")
    column = entity.column(column_name)
    if column.unique and column_name not in entity.primary_key:
        marks.append("UNIQUE")
    return ", ".join(marks)


def render_dictionary(model: Model) -> str:
    """Return ``schema.md``: every table and column, with the ERD embedded."""
    lines = [f"# Data dictionary: {model.name}", "", "```mermaid", render_erd(model).rstrip("\n"), "```"]
    for entity in model.entities:
        lines += ["", f"## {entity.name}", ""]
        if entity.description:
            lines += [entity.description, ""]
        lines += ["| column | type | stored as | null | keys | personal data | description | source |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for column in entity.columns:
            logical = column.logical_type + (f" ({column.currency}, minor units)" if column.currency else "")
            lines.append("| " + " | ".join(_cell(value) for value in (
                column.name, logical, column.sqlite_type, "yes" if column.nullable else "no",
                _key_marks(entity, column.name), column.pii or "", column.description,
                "; ".join(column.source))) + " |")
        for group in entity.unique_constraints:
            lines.append(f"\nUnique together: ({', '.join(group)}).")
        for foreign_key in entity.foreign_keys:
            lines.append(f"\n({', '.join(foreign_key.columns)}) references {foreign_key.ref_table}: "
                         f"ON DELETE {foreign_key.on_delete}. {foreign_key.reason}")
    return "\n".join(lines) + "\n"
