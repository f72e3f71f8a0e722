"""Mermaid ``erDiagram`` from the entity model.

Mermaid accepts only simple entity and attribute names, so any other name
gets a safe alias (``e1``) with the real name as its label, attribute types
carry no spaces or commas, and relationship labels are always quoted.
"""

from __future__ import annotations

import re

from dmodel.model import Entity, Model

_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _label(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _attribute_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return safe if re.match(r"[A-Za-z_]", safe) else f"c_{safe}"


def render_erd(model: Model) -> str:
    aliases: dict[str, str] = {}
    for number, entity in enumerate(model.entities, start=1):
        aliases[entity.name] = entity.name if _SAFE_NAME.match(entity.name) else f"e{number}"
    lines = ["erDiagram"]
    for entity in model.entities:
        alias = aliases[entity.name]
        heading = alias if alias == entity.name else f"{alias}[{_label(entity.name)}]"
        lines.append(f"    {heading} {{")
        lines.extend(_attribute_lines(entity))
        lines.append("    }")
    for entity in model.entities:
        for foreign_key in entity.foreign_keys:
            # A composite key with any NULL column is not enforced, so one nullable column makes it optional.
            nullable = any(entity.column(column).nullable for column in foreign_key.columns)
            one_to_one = len(foreign_key.columns) == 1 and entity.column(foreign_key.columns[0]).unique
            parent_side = "|o" if nullable else "||"
            child_side = "o|" if one_to_one else "o{"
            lines.append(f"    {aliases[foreign_key.ref_table]} {parent_side}--{child_side} {aliases[entity.name]} : "
                         f"{_label(', '.join(foreign_key.columns))}")
    return "\n".join(lines) + "\n"


def _attribute_lines(entity: Entity) -> list[str]:
    foreign = {column for foreign_key in entity.foreign_keys for column in foreign_key.columns}
    lines = []
    for column in entity.columns:
        keys = []
        if column.name in entity.primary_key:
            keys.append("PK")
        if column.name in foreign:
            keys.append("FK")
        if column.unique and column.name not in entity.primary_key:
            keys.append("UK")
        name = _attribute_name(column.name)
        line = f"        {column.sqlite_type} {name}"
        if keys:
            line += " " + ", ".join(keys)
        if name != column.name:
            line += f" {_label(column.name)}"
        lines.append(line)
    return lines
