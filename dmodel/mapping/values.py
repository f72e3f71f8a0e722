"""Source values checked and converted to what a CRM column stores."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from dmodel.profile import ColumnProfile, convert_value
from dmodel.standard import load_standard
from dmodel.standard.vocabulary import ENUM_SYNONYMS

TYPED_COLUMNS = {
    "amount": "money", "probability": "percent", "expected_close_date": "date", "actual_close_date": "date",
    "occurred_at": "datetime", "email": "email", "phone": "phone", "domain": "domain", "country_code": "country",
    "currency": "currency",
}
_ID_SEPARATORS = re.compile(r"\s*[;,|]\s*")


def present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def compact_text(text: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def scalar(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class Unconvertible(ValueError):
    """A value that does not fit the column it was mapped to."""


def convert(column: str, value: Any, profile: ColumnProfile, table: str) -> Any:
    """Return ``value`` as stored in the CRM column, or raise Unconvertible."""
    kind = TYPED_COLUMNS.get(column)

    if kind == "money":
        return _minor_units(value, profile)
    if kind == "percent":
        return _percent(value)
    if kind in ("date", "datetime"):
        return _moment(value, profile, kind)
    if kind == "email":
        text = str(value).strip()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
            raise Unconvertible(value)
        return text
    if kind == "phone":
        text = str(value).strip()
        if not 7 <= sum(character.isdigit() for character in text) <= 15:
            raise Unconvertible(value)
        return text
    if kind == "domain":
        text = re.sub(r"^(?:https?://)?(?:www\.)?", "", str(value).strip().lower()).rstrip("/")
        if " " in text or "." not in text:
            raise Unconvertible(value)
        return text
    if kind in ("country", "currency"):
        text = str(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{2}" if kind == "country" else r"[A-Z]{3}", text):
            raise Unconvertible(value)
        return text

    if isinstance(value, (dict, list)):
        raise Unconvertible(value)
    enum = ENUM_SYNONYMS.get(table, {}).get(column)
    if enum is not None:
        if compact_text(value) not in enum:
            raise Unconvertible(value)
        return enum[compact_text(value)]
    return within_bounds(table, column, str(value).strip() if isinstance(value, str) else str(value))


_LENGTH_BOUNDS: dict[tuple[str, str], tuple[int, int]] = {}


def within_bounds(table: str, column: str, value: Any) -> Any:
    """Return ``value`` when it fits the column's ``length(...) BETWEEN`` check, or raise Unconvertible."""
    if not _LENGTH_BOUNDS:
        for entity in load_standard("crm").entities:
            for item in entity.columns:
                match = re.search(rf"length\({item.name}\) BETWEEN (\d+) AND (\d+)", item.check or "")
                if match:
                    _LENGTH_BOUNDS[(entity.name, item.name)] = (int(match[1]), int(match[2]))
    bounds = _LENGTH_BOUNDS.get((table, column))
    if bounds is not None and isinstance(value, str) and not bounds[0] <= len(value) <= bounds[1]:
        raise Unconvertible(value)
    return value


def _minor_units(value: Any, profile: ColumnProfile) -> int:
    """Return an amount in minor units with two decimal places, whatever scale the source used."""
    if profile.logical_type not in ("money", "decimal", "integer", "real"):
        raise Unconvertible(value)
    try:
        stored = convert_value(value, profile)
    except ValueError:
        raise Unconvertible(value) from None
    if stored is None:
        raise Unconvertible(value)
    scale = profile.scale or 0 if profile.logical_type == "money" else 0
    try:
        amount = Decimal(str(stored)) * (Decimal(10) ** (2 - scale))
    except InvalidOperation:
        raise Unconvertible(value) from None
    # Integers above 2**53 lose precision on their way through D1's JavaScript API.
    if not amount.is_finite() or amount < 0 or amount >= 2 ** 53:
        raise Unconvertible(value)
    return int(amount.to_integral_value())


def _percent(value: Any) -> int:
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise Unconvertible(value) from None
    if not number.is_finite() or number < 0 or number > 100:
        raise Unconvertible(value)
    return int(number.to_integral_value())


def _moment(value: Any, profile: ColumnProfile, kind: str) -> str:
    if profile.logical_type not in ("date", "datetime"):
        raise Unconvertible(value)
    try:
        stored = convert_value(value, profile)
    except ValueError:
        raise Unconvertible(value) from None
    if not isinstance(stored, str):
        raise Unconvertible(value)
    return stored[:10] if kind == "date" else stored


def split_ids(value: Any) -> list[str]:
    return [part for part in _ID_SEPARATORS.split(str(value).strip()) if part]
