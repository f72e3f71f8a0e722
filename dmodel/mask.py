"""Deterministic masking of personal data in seed rows.

A masked value is derived from a SHA-256 of the table, the column and the
original value. So the same input always gives the same output, distinct
inputs stay distinct (UNIQUE columns stay valid), and no part of the
original value appears in the result. Secrets are never emitted at all.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dmodel.model import PiiClass

REDACTED = "[redacted]"


def _digest(table: str, column: str, value: Any) -> str:
    return hashlib.sha256(f"{table}\x1f{column}\x1f{value}".encode("utf-8")).hexdigest()


def mask_value(table: str, column: str, pii: PiiClass, value: Any, nullable: bool = True) -> Any:
    """Return the masked form of ``value`` for a column of the given personal-data class."""
    if value is None:
        return None
    if pii == "secret":
        return None if nullable else REDACTED
    digest = _digest(table, column, value)
    if pii == "email":
        return f"user-{digest[:12]}@example.invalid"
    if pii == "name":
        return f"Person {digest[:8]}"
    if pii == "phone":
        return f"+1-555-{int(digest[:8], 16) % 10_000_000:07d}"
    if pii == "address":
        return _mask_address_part(column, str(value), digest)
    if isinstance(value, int):
        return int(digest[:12], 16)
    return f"masked-{digest[:12]}"


def _mask_address_part(column: str, value: str, digest: str) -> str:
    """Mask one part of an address so that it keeps the part's shape (a city stays a city name)."""
    if "zip" in column or "postal" in column or "postcode" in column:
        return f"{int(digest[:8], 16) % 100_000:05d}"
    if "country" in column and len(value) == 2:
        return "X" + chr(ord("A") + int(digest[:2], 16) % 26)
    if "city" in column or "town" in column:
        return f"City {digest[:6]}"
    if "state" in column or "province" in column or "region" in column or "country" in column:
        return f"Region {digest[:6]}"
    return f"{int(digest[:4], 16) % 9000 + 100} Example Street {digest[4:8]}"
