"""The mapping report in Markdown: ``mapping.md``."""

from __future__ import annotations

import json
from typing import Any

from dmodel.mapping.results import MappingResult


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
