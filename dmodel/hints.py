"""Hints: a small JSON file that steers the design without editing its output.

Every question in the design report names the hint that answers it. The
same input with the same hints gives the same model.

Hints read by the 2NF/3NF step (``dmodel.decompose``)::

    {"keys": {"accounts": ["account_number"]},
     "split": [{"table": "orders", "key": ["customer_id"],
                "columns": ["customer_name", "customer_email"], "name": "customers"}],
     "dependencies": {"force": ["orders: customer_id -> customer_email"],
                      "forbid": ["orders: country -> *"]},
     "merge": [["customers", "order_customers"]]}

``keys`` sets a table's natural key. ``split`` moves ``columns`` into a new
table ``name`` keyed by ``key`` even when the sample is too small to show
it. ``dependencies.force`` treats an FD as holding (each key value keeps
its most frequent value), ``dependencies.forbid`` stops a split on it; both
are written ``table: a, b -> c`` and ``*`` on the right means every column.
``merge`` makes tables one entity in ``match_entities``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Hints(BaseModel):
    """The hints file. Unknown keys are rejected so that a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    rename: dict[str, str] = Field(
        default_factory=dict,
        description="Table renames ('deals': 'opportunities') and column renames ('deals.amt': 'amount')")
    merge: list[list[str]] = Field(default_factory=list, description="Groups of tables that are one entity")
    split: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Extra splits: {'table': T, 'columns': [...], 'key': [...], 'name': NEW}")
    dependencies: dict[str, list[str]] = Field(
        default_factory=dict,
        description="'force' and 'forbid' lists of functional dependencies written 'table: a, b -> c'")
    keys: dict[str, list[str]] = Field(default_factory=dict, description="Forced natural key per table")
    pii: dict[str, str | bool | None] = Field(
        default_factory=dict,
        description="'table.column': a personal-data class (email, name, phone, address, secret, other) or false")
    relationships: dict[str, list[str]] = Field(
        default_factory=dict, description="'force' and 'forbid' lists written 'child.column -> parent'")
    types: dict[str, str] = Field(default_factory=dict, description="'table.column': a logical type to force")
    tenancy: Literal["none", "row-level", "database-per-tenant"] | None = Field(
        None, description="Tenant isolation to design for, instead of the one recommended from the discovery facts")
    mapping: dict[str, Any] | None = Field(
        None, description="Settings for 'dmodel map' (CRM mapping), which the design step ignores")

    @field_validator("dependencies")
    @classmethod
    def _check_dependencies(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Reject a malformed dependency when the hints file is read, so the error names the file."""
        from dmodel.errors import InputError

        for kind, entries in value.items():
            for index, text in enumerate(entries):
                try:
                    parse_dependency(text, kind, index)
                except InputError as error:
                    raise ValueError(f"{error.place}: {error.message}; {error.fix}") from None
        return value


def parse_dependency(text: str, kind: str = "force", index: int = 0) -> tuple[str, list[str], list[str]]:
    """Parse a dependency hint ``"table: a, b -> c, d"`` into (table, left-hand side, right-hand side).

    ``dependencies.force`` entries make ``normalize`` split on the FD even when
    the data supports it only approximately or weakly (each left-hand value
    keeps its most frequent right-hand value). ``dependencies.forbid`` entries
    stop a split; a right-hand side of ``*`` forbids every FD from that
    left-hand side. ``kind`` and ``index`` only name the entry in errors.
    """
    from dmodel.errors import InputError

    place = f"dependencies.{kind}[{index}]"
    fix = "write it as 'table: column, column -> column', for example 'orders: customer_id -> customer_name'"
    if not isinstance(text, str) or ":" not in text or "->" not in text:
        raise InputError(f"invalid dependency {text!r}", place=place, fix=fix)
    table, _, rule = text.partition(":")
    left, _, right = rule.partition("->")
    lhs = [column.strip() for column in left.split(",") if column.strip()]
    rhs = [column.strip() for column in right.split(",") if column.strip()]
    if not table.strip() or not lhs or not rhs:
        raise InputError(f"invalid dependency {text!r}: the table, the left or the right side is empty",
                         place=place, fix=fix)
    return table.strip(), lhs, rhs
