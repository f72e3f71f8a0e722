"""Inferred references: ``<name>_id`` columns whose values are keys of another table.

Exports often carry a foreign key without declaring it (a contacts sheet
with an ``AccountId`` column). A column becomes a foreign key when its name
ends in ``_id``, the part before names a table (``account_id`` ->
``accounts``, ``parent_account_id`` -> ``accounts``) with a single-column
key, and every non-NULL value is one of that table's key values. When most
but not all values match, the report lists a question instead of deciding.
"""

from __future__ import annotations

from dmodel.conventions import pluralize
from dmodel.errors import InputError
from dmodel.hints import Hints
from dmodel.model import Decision, Question
from dmodel.relation import Link, Relation, RelationSet

# Share of values that must match before a partial match is worth a question.
QUESTION_THRESHOLD = 0.8


def parse_relationship_hint(text: str) -> tuple[str, str, str]:
    """Split a relationships hint ``child.column -> parent`` into its three names."""
    left, arrow, parent = text.partition("->")
    child, dot, column = left.strip().partition(".")
    if not arrow or not dot or not child or not column.strip() or not parent.strip():
        raise InputError(f"invalid relationships hint {text!r}", place="hints: relationships",
                         fix="write 'child_table.column -> parent_table', such as 'contacts.account_id -> accounts'")
    return child.strip(), column.strip(), parent.strip()


def apply_relationship_hints(relations: RelationSet, hints: Hints) -> None:
    """Remove the references a hint forbids and add the ones it forces."""
    for text in hints.relationships.get("forbid", []):
        child, column, parent = parse_relationship_hint(text)
        kept = [link for link in relations.links
                if not (link.child == child and link.child_columns == [column] and link.parent == parent)]
        if len(kept) < len(relations.links):
            relations.decisions.append(Decision(code="R102", subject=text, message=f"{text} forbidden by a hint"))
        relations.links = kept
    for text in hints.relationships.get("force", []):
        child, column, parent = parse_relationship_hint(text)
        source, target = relations.relations.get(child), relations.relations.get(parent)
        if source is None or target is None or column not in source.columns or not target.key:
            raise InputError(f"relationships hint {text!r} names a table or column the design does not have",
                             place="hints: relationships.force",
                             fix="use a table.column and a table from model.json, before any rename")
        if any(link.child == child and link.child_columns == [column] for link in relations.links):
            continue
        relations.links.append(Link(child=child, child_columns=[column], parent=parent,
                                    parent_columns=list(target.key), kind="reference",
                                    optional=True, reason="forced by a hint"))
        relations.decisions.append(Decision(code="R103", subject=text, message=f"{text} forced by a hint"))


def infer_references(relations: RelationSet, hints: Hints | None = None) -> None:
    """Add a reference link for every ``_id`` column that the data shows to be a foreign key."""
    hinted = [parse_relationship_hint(text) for key in ("forbid", "force")
              for text in (hints.relationships.get(key, []) if hints else [])]
    linked = {(link.child, column) for link in relations.links for column in link.child_columns}
    linked |= {(child, column) for child, column, _ in hinted}  # a hint has settled these
    for relation in sorted(relations.relations.values(), key=lambda item: item.name):
        for column in relation.columns:
            if (relation.name, column) in linked or not column.endswith("_id") or column in (relation.key or []):
                continue
            target = _target_table(relations, relation, column)
            if target is None:
                continue
            values = {str(value).strip() for value in relation.values(column) if value is not None}
            keys = {str(value).strip() for value in target.values(target.key[0])}  # type: ignore[index]
            if not values:
                continue
            matched = len(values & keys) / len(values)
            subject = f"{relation.name}.{column} -> {target.name}"
            if matched == 1.0:
                has_nulls = any(value is None for value in relation.values(column))
                relations.links.append(Link(child=relation.name, child_columns=[column], parent=target.name,
                                            parent_columns=list(target.key or []), kind="reference",
                                            optional=has_nulls,
                                            reason=f"every value of {relation.name}.{column} is a key of "
                                                   f"{target.name}"))
                relations.decisions.append(Decision(
                    code="R101", subject=subject,
                    message=f"{relation.name}.{column} references {target.name}: every one of its "
                            f"{len(values)} distinct values is a {target.name} key",
                    evidence={"distinct_values": len(values), "matched": len(values)}, confidence=0.9))
            elif matched >= QUESTION_THRESHOLD:
                relations.questions.append(Question(
                    code="Q101", subject=subject,
                    question=f"{relation.name}.{column} looks like a reference to {target.name}, but "
                             f"{len(values - keys)} of its {len(values)} values match no {target.name} key. "
                             "Is it a foreign key?",
                    options=["yes: make it a foreign key (unmatched values become NULL)", "no: keep it as data"],
                    hint={"relationships": {"force": [f"{relation.name}.{column} -> {target.name}"]}}))


def _target_table(relations: RelationSet, relation: Relation, column: str) -> Relation | None:
    words = column[: -len("_id")].split("_")
    # Most specific name first: sales_account_id tries sales_accounts, then accounts.
    for start in range(len(words)):
        name = pluralize("_".join(words[start:]))
        target = relations.relations.get(name)
        if target is not None and target.name != relation.name and target.key and len(target.key) == 1:
            return target
    return None
