"""Relations: the tables the design pipeline passes between its stages.

``unnest`` (1NF) turns loaded records into relations and links; ``decompose``
(3NF) splits relations further; ``design`` turns the result into entities.
Values in ``rows`` are raw scalars until ``profile`` has typed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dmodel.model import Decision, Question, Warning


@dataclass
class Link:
    """A foreign key between two relations: ``child.child_columns`` -> ``parent.parent_columns``.

    ``kind`` is ``owned`` when the child rows belong to the parent (line items
    of an order, deleted with it) and ``reference`` when the parent is an
    independent entity (the customer of an order).
    """

    child: str
    child_columns: list[str]
    parent: str
    parent_columns: list[str]
    kind: Literal["owned", "reference"] = "reference"
    optional: bool = False
    reason: str = ""


@dataclass
class Relation:
    """One table's worth of rows, with where each column came from."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    dataset: str
    key: list[str] | None = None
    column_sources: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    junction: bool = False

    def values(self, column: str) -> list[Any]:
        return [row.get(column) for row in self.rows]


@dataclass
class RelationSet:
    """Relations, the links between them and what was decided along the way."""

    relations: dict[str, Relation] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)

    def add(self, relation: Relation) -> Relation:
        self.relations[relation.name] = relation
        return relation
