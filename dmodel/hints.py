"""Hints: a small JSON file that steers the design without editing its output.

Every question in the design report names the hint that answers it. The
same input with the same hints gives the same model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
