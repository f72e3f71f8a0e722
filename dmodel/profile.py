"""Column profiling and type inference over every value of a column.

``profile_values`` reads every value of one column, never a head sample, so a
column that turns fractional at row 9,000 is still REAL. It decides a logical
type, the SQLite storage type, null and distinct counts, uniqueness, examples
and suspected personal data. ``convert_value`` turns one raw value
into the value as stored: money in minor units, booleans 0/1, dates and
timestamps as ISO-8601 text.

Missing values follow one rule:

1. ``None`` (JSON null, SQL NULL), a float NaN and a string that is empty
   after stripping whitespace are always missing, stored as NULL.
2. NaN-like strings are ``N/A``, ``n/a``, ``NA``, ``NaN``, ``null``,
   ``NULL``, ``None``, ``nil``, ``-``, ``--`` and ``#N/A``. They are missing
   only in a column whose other values all have a type with a fixed shape:
   numbers, money, booleans, dates, timestamps, UUIDs, emails, URLs, phone
   numbers, JSON. Such a column cannot contain those words as real values.
   They are counted in ``missing_tokens``.
3. In a text or enum column those strings are kept as text, because a
   person can be called Null.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Sequence

from dmodel.conventions import snake_case
from dmodel.mask import mask_value
from dmodel.model import LogicalType, PiiClass, SqliteType

# D1's JavaScript API turns integers into doubles, which are exact only up to 2^53.
MAX_SAFE_INTEGER = 2 ** 53
ENUM_MAX_VALUES = 12
ENUM_MIN_COUNT = 20
ENUM_MAX_LENGTH = 64
MONEY_MAX_SCALE = 4

NAN_TOKENS = frozenset({"n/a", "na", "nan", "null", "none", "nil", "-", "--", "#n/a"})
BOOLEAN_WORDS = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
                 "t": True, "f": False}
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
CURRENCY_CODES = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "JPY", "CNY", "SEK", "NOK", "DKK",
                            "PLN", "CZK", "INR", "BRL", "MXN", "ZAR", "SGD", "HKD"})
# Logical types whose values have a fixed shape; NaN-like strings in them are missing values.
SHAPED_TYPES = frozenset({"integer", "decimal", "money", "real", "boolean", "date", "datetime", "uuid", "email",
                          "url", "phone", "json", "blob"})
_SQLITE_TYPES: dict[str, SqliteType] = {
    "integer": "INTEGER", "money": "INTEGER", "boolean": "INTEGER", "real": "REAL", "decimal": "REAL",
    "blob": "BLOB",
}


@dataclass
class ColumnProfile:
    """The profile of one column: inferred type, counts, examples and suspected personal data."""

    name: str
    logical_type: LogicalType
    sqlite_type: SqliteType
    count: int
    null_count: int
    distinct_count: int
    unique: bool
    examples: list[Any]
    pii: PiiClass | None = None
    currency: str | None = None
    scale: int | None = None
    enum_values: list[str] | None = None
    max_length: int | None = None
    missing_tokens: int = 0
    date_order: str | None = None
    date_order_ambiguous: bool = False
    fraction_digits: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def non_null_count(self) -> int:
        return self.count - self.null_count

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as JSON-ready data for the report.

        Examples of a column suspected to hold personal data are masked the
        way seed rows are, and a secret's examples are redacted, so that the
        report can be committed.
        """
        data = asdict(self)
        examples = [_json_ready(example) for example in self.examples]
        if self.pii:
            examples = [mask_value("profile", self.name, self.pii, example, nullable=False) for example in examples]
        data["examples"] = examples
        return data


def _json_ready(value: Any) -> Any:
    if isinstance(value, (dict, list, str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


# --- value classification --------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_INT = re.compile(r"[+-]?\d+\Z")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)\Z")
_EXPONENT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+\Z")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\Z")
_MONEY = re.compile(
    r"(?P<open>\()?(?P<sign>[-+])?\s*(?P<prefix>[$€£]|[A-Z]{3}\s?)?\s*(?P<sign2>[-+])?\s*"
    r"(?P<amount>\d[\d,.]*)\s*(?P<suffix>[$€£]|\s?[A-Z]{3})?(?P<close>\))?\Z")
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{2})[-/.](\d{2})\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DMY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")
_DAY_MONTH_NAME = re.compile(r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{4})\Z")
_MONTH_NAME_DAY = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})\Z")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+\Z")
_URL = re.compile(r"(?:(?:https?|ftp)://[^\s/?#]+|www\.[^\s/?#]+\.[^\s/?#]+)\S*\Z", re.IGNORECASE)
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_PHONE = re.compile(r"(?P<number>\+?[\d\s().-]*\d)(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?\Z", re.IGNORECASE)


@dataclass
class _Value:
    """One non-missing value as classified: its kind and what later decisions need."""

    kind: str
    number: Decimal | None = None
    decimals: int = 0
    currency: str | None = None
    from_text: bool = False
    parts: tuple[int, int, int] | None = None
    separator: str = ""
    has_time: bool = False
    moment: datetime | date | None = None
    strong: bool = False


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _classify(value: Any) -> _Value:
    """Classify one value that is not missing; strings are read for the type they spell."""
    if isinstance(value, bool):
        return _Value("boolean")
    if isinstance(value, int):
        return _Value("integer", number=Decimal(value))
    if isinstance(value, float):
        if math.isinf(value):
            return _Value("text")
        number = Decimal(repr(value))
        return _Value("number", number=number, decimals=_decimals(number))
    if isinstance(value, Decimal):
        return _Value("number", number=value, decimals=_decimals(value))
    if isinstance(value, (dict, list)):
        return _Value("json")
    if isinstance(value, (bytes, bytearray)):
        return _Value("blob")
    if isinstance(value, datetime):
        return _Value("datetime", moment=value)
    if isinstance(value, date):
        return _Value("date", moment=value)
    if isinstance(value, str):
        return _classify_text(value.strip())
    return _Value("text")


def _classify_text(text: str) -> _Value:
    lowered = text.lower()
    if lowered in NAN_TOKENS:
        return _Value("nan_token")
    if lowered in BOOLEAN_WORDS:
        return _Value("boolean", from_text=True)
    if not _DIGIT.search(text):
        # Numbers, money, dates and phone numbers all contain a digit; plain words skip those checks.
        return _classify_shaped_text(text) or _Value("text", from_text=True)
    number = _classify_number_text(text)
    if number is not None:
        return number
    return (_classify_moment(text) or _classify_money(text) or _classify_shaped_text(text)
            or _Value("text", from_text=True))


def _classify_number_text(text: str) -> _Value | None:
    if _INT.match(text):
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            return _Value("code", from_text=True)
        return _Value("integer", number=Decimal(text), from_text=True)
    if _DECIMAL.match(text) or _GROUPED.match(text):
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0") and digits[1].isdigit():
            return _Value("code", from_text=True)
        number = Decimal(text.replace(",", ""))
        if "." not in text:
            return _Value("integer", number=number, from_text=True)
        if math.isinf(float(number)):
            return _Value("text", from_text=True)
        return _Value("number", number=number, decimals=_decimals(number), from_text=True)
    if _EXPONENT.match(text):
        number = Decimal(text)
        if math.isinf(float(number)):
            return _Value("text", from_text=True)
        return _Value("number", number=number, decimals=99, from_text=True)
    return None


def _decimals(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _classify_money(text: str) -> _Value | None:
    """Read an amount with a currency symbol or code: ``$1,250.00``, ``€3.50``, ``1.234,56 €``, ``USD 12``."""
    match = _MONEY.match(text)
    if not match or bool(match.group("open")) != bool(match.group("close")):
        return None
    marks = [mark.strip() for mark in (match.group("prefix"), match.group("suffix")) if mark]
    if len(marks) != 1:
        return None
    mark = marks[0]
    if mark in CURRENCY_SYMBOLS:
        currency = CURRENCY_SYMBOLS[mark]
    elif mark in CURRENCY_CODES:
        currency = mark
    else:
        return None
    amount = _parse_amount(match.group("amount"))
    if amount is None:
        return None
    negative = "-" in (match.group("sign") or "", match.group("sign2") or "") or bool(match.group("open"))
    if negative:
        amount = -amount
    return _Value("money", number=amount, decimals=_decimals(amount), currency=currency, from_text=True)


def _parse_amount(text: str) -> Decimal | None:
    """Parse ``1,250.00`` or ``1.250,00`` (the last separator is the decimal one when both appear)."""
    if "," in text and "." in text:
        decimal_mark = "," if text.rindex(",") > text.rindex(".") else "."
        group_mark = "." if decimal_mark == "," else ","
        whole, _, fraction = text.rpartition(decimal_mark)
        if not re.fullmatch(rf"\d{{1,3}}(?:\{group_mark}\d{{3}})*", whole) or not fraction.isdigit():
            return None
        return Decimal(whole.replace(group_mark, "") + "." + fraction)
    if "," in text:
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
            return Decimal(text.replace(",", ""))
        if re.fullmatch(r"\d+,\d{1,2}", text):
            return Decimal(text.replace(",", "."))
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return Decimal(text)
    return None


def _classify_moment(text: str) -> _Value | None:
    match = _ISO_DATE.match(text)
    if match:
        try:
            return _Value("date", moment=date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            return None
    if _ISO_DATETIME.match(text):
        try:
            return _Value("datetime", moment=datetime.fromisoformat(text))
        except ValueError:
            return None
    match = _DMY.match(text)
    if match:
        return _Value("dmy", parts=(int(match[1]), int(match[3]), int(match[4])), separator=match[2],
                      has_time=match[5] is not None)
    return _classify_named_month(text)


def _classify_named_month(text: str) -> _Value | None:
    """Read ``14 Mar 2026``, ``14-March-2026``, ``Mar 14, 2026`` or ``March 14 2026`` (English month names)."""
    match = _DAY_MONTH_NAME.match(text)
    if match:
        day, word, year = match[1], match[2], match[3]
    else:
        match = _MONTH_NAME_DAY.match(text)
        if not match:
            return None
        word, day, year = match[1], match[2], match[3]
    word = word.lower()
    month = next((number for number, name in enumerate(_MONTHS, start=1)
                  if word == name or word == name[:3] or (name == "september" and word == "sept")), None)
    if month is None:
        return None
    try:
        return _Value("date", moment=date(int(year), month, int(day)))
    except ValueError:
        return None


def _classify_shaped_text(text: str) -> _Value | None:
    if _UUID.match(text):
        return _Value("uuid")
    if _EMAIL.match(text):
        return _Value("email")
    if _URL.match(text):
        return _Value("url")
    if text[:1] in "{[" and text[-1:] in "}]":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return _Value("json")
    if _IPV4.match(text):
        return None
    match = _PHONE.match(text)
    if match:
        number = match.group("number")
        digits = sum(character.isdigit() for character in number)
        groups = [group for group in re.split(r"[\s().-]+", number.lstrip("+")) if group]
        if 7 <= digits <= 15:
            strong = number.startswith("+") or "(" in number or len(groups) >= 3 or number != text
            return _Value("phone", strong=strong)
    return None


# --- names -----------------------------------------------------------------------------------------------

_MONEY_WORDS = frozenset({"price", "prices", "amount", "amounts", "amt", "total", "subtotal", "cost", "costs",
                          "balance", "revenue", "fee", "fees", "payment", "paid", "spent", "salary", "wage",
                          "tax", "taxes", "discount", "discounts", "refund", "charge", "charges", "budget",
                          "income", "expense", "expenses", "deposit", "credit", "debit", "msrp", "arr", "mrr",
                          "tip"})
# Words that make a money-like name a quantity instead (total_weight, price_rate, amount_percent).
_QUANTITY_WORDS = frozenset({"weight", "count", "quantity", "qty", "percent", "percentage", "pct", "rate",
                             "ratio", "score", "number", "grams", "kg", "lbs", "hours", "days", "age", "points",
                             "units"})
_BOOLEAN_PREFIXES = frozenset({"is", "has", "can", "should", "was", "did", "allow", "allows", "accepts",
                               "requires", "enable"})
_BOOLEAN_WORDS = frozenset({"flag", "active", "enabled", "disabled", "deleted", "verified", "confirmed",
                            "archived", "visible", "hidden", "required", "test", "taxable", "exempt", "default",
                            "optin", "opted", "subscribed", "included", "locked", "published", "approved"})
_PHONE_WORDS = frozenset({"phone", "telephone", "tel", "mobile", "cell", "fax", "mobilephone", "phonenumber"})
_POSTAL_WORDS = frozenset({"zip", "zipcode", "postcode", "postalcode", "plz"})
_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "secret", "token", "apikey", "credential",
                           "credentials", "passphrase", "pin"})
_SECRET_PHRASES = ("api_key", "private_key", "access_key", "secret_key", "client_secret", "auth_token")
_PERSON_NAME_PHRASES = ("first_name", "last_name", "full_name", "given_name", "family_name", "middle_name",
                        "maiden_name", "contact_name", "customer_name", "person_name")
_PERSON_NAME_WORDS = frozenset({"firstname", "lastname", "fullname", "surname", "givenname", "familyname",
                                "forename"})
_ADDRESS_WORDS = frozenset({"address", "address1", "address2", "street", "addr", "zip", "zipcode", "postcode",
                            "postalcode"})
_OTHER_PII_PHRASES = ("birth_date", "date_of_birth", "social_security", "national_id", "ip_address",
                      "browser_ip", "tax_id", "passport")
_OTHER_PII_WORDS = frozenset({"birthdate", "birthday", "dob", "ssn", "passport", "ip"})


class _Name:
    """A column name split into snake_case words, for the name-based rules."""

    def __init__(self, name: str) -> None:
        self.snake = snake_case(name)
        self.words = self.snake.split("_")
        self.compact = self.snake.replace("_", "")

    def has(self, words: frozenset[str]) -> bool:
        return any(word in words for word in self.words) or self.compact in words

    def contains(self, phrases: tuple[str, ...]) -> bool:
        return any(phrase in self.snake for phrase in phrases)

    @property
    def money_like(self) -> bool:
        return self.has(_MONEY_WORDS) and not self.has(_QUANTITY_WORDS)

    @property
    def boolean_like(self) -> bool:
        """True for names like ``is_paid``, ``has_children``, ``export_flag`` or ``active``."""
        return self.words[0] in _BOOLEAN_PREFIXES or self.words[-1] in _BOOLEAN_WORDS

    @property
    def phone_like(self) -> bool:
        return self.has(_PHONE_WORDS)

    @property
    def postal_like(self) -> bool:
        return self.has(_POSTAL_WORDS) or "postal_code" in self.snake

    @property
    def currency(self) -> str | None:
        codes = [word.upper() for word in self.words if word.upper() in CURRENCY_CODES]
        return codes[0] if len(codes) == 1 else None


# --- profiling -------------------------------------------------------------------------------------------

@dataclass
class _Decision:
    logical_type: str
    currency: str | None = None
    scale: int | None = None
    date_order: str | None = None
    date_order_ambiguous: bool = False
    fraction_digits: int = 0
    notes: list[str] = field(default_factory=list)


def profile_values(name: str, values: Sequence[Any], logical_type: LogicalType | None = None) -> ColumnProfile:
    """Profile every value of the column ``name`` and infer its type (see the module docstring for missing values).

    ``logical_type`` forces the type instead of inferring it, as a hint
    does. Raises ValueError, naming the first value, when a value does not
    fit the forced type.
    """
    column = _Name(name)
    classified: list[tuple[Any, _Value]] = []
    missing = 0
    # Columns repeat values (stages, flags, dates), so each distinct string is classified once.
    seen_strings: dict[str, _Value] = {}
    for value in values:
        if _is_missing(value):
            missing += 1
        elif isinstance(value, str):
            item = seen_strings.get(value)
            if item is None:
                item = seen_strings[value] = _classify(value)
            classified.append((value, item))
        else:
            classified.append((value, _classify(value)))

    typed = [item for item in classified if item[1].kind != "nan_token"]
    if logical_type is None:
        decision = _decide(column, typed, len(classified) - len(typed))
    else:
        decision = _forced_decision(column, typed, logical_type)
    shaped = decision.logical_type in SHAPED_TYPES
    tokens = len(classified) - len(typed) if shaped else 0
    present_values = typed if shaped else classified
    profile = ColumnProfile(
        name=name, logical_type=decision.logical_type, sqlite_type=_SQLITE_TYPES.get(decision.logical_type, "TEXT"),
        count=len(values), null_count=missing + tokens, distinct_count=0, unique=False, examples=[],
        currency=decision.currency, scale=decision.scale, missing_tokens=tokens, date_order=decision.date_order,
        date_order_ambiguous=decision.date_order_ambiguous, fraction_digits=decision.fraction_digits,
        notes=decision.notes)
    if tokens:
        profile.notes.append(f"{tokens} NaN-like {'string' if tokens == 1 else 'strings'} read as missing")

    stored_strings: dict[str, Any] = {}
    stored = []
    for value, item in present_values:
        if isinstance(value, str):
            if value not in stored_strings:
                stored_strings[value] = _convert(value, item, profile)
            stored.append(stored_strings[value])
        else:
            stored.append(_convert(value, item, profile))
    distinct = set(stored)
    profile.distinct_count = len(distinct)
    profile.unique = len(stored) >= 2 and len(distinct) == len(stored)
    profile.examples = _examples(value for value, _ in present_values)
    if profile.sqlite_type == "TEXT" and stored:
        profile.max_length = max(len(text) for text in stored)
    if profile.logical_type == "text" and logical_type is None:
        _apply_enum(profile, [item[1] for item in present_values], stored)
    elif profile.logical_type == "enum":
        profile.enum_values = sorted(distinct)
    profile.pii = suspect_pii(name, profile.logical_type, stored)
    return profile


def _examples(values: Any) -> list[Any]:
    examples: list[Any] = []
    seen: set[str] = set()
    for value in values:
        key = json.dumps(value, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            examples.append(value)
            if len(examples) == 3:
                break
    return examples


def _apply_enum(profile: ColumnProfile, kinds: list[_Value], stored: list[Any]) -> None:
    """Make a text column an enum when its values are a small closed set that the sample shows repeatedly."""
    if any(kind.kind != "text" for kind in kinds) or len(stored) < ENUM_MIN_COUNT:
        return
    counts = Counter(stored)
    if not 2 <= len(counts) <= ENUM_MAX_VALUES or min(counts.values()) < 2:
        return
    if max(len(value) for value in counts) > ENUM_MAX_LENGTH:
        return
    profile.logical_type = "enum"
    profile.enum_values = sorted(counts)


def _decide(column: _Name, typed: list[tuple[Any, _Value]], nan_tokens: int) -> _Decision:
    """Decide the column's logical type from the kinds of all its non-missing values.

    The first rule that every value fits wins, in this order: boolean,
    integer, money, real, date or datetime, then uuid, email, url, json,
    blob and phone. Anything else is text, which may still become an enum.
    """
    if not typed:
        note = "every value is missing" if not nan_tokens else "only NaN-like strings, kept as text"
        return _Decision("text", notes=[note])
    kinds = Counter(item.kind for _, item in typed)
    present = set(kinds)

    decision = (_decide_boolean(column, typed, present) or _decide_integer(column, typed, present)
                or _decide_money(column, typed, present) or _decide_real(present)
                or _decide_moment(typed, present) or _decide_shaped(column, typed, present))
    return decision or _Decision("text")


def _decide_boolean(column: _Name, typed: list[tuple[Any, _Value]], present: set[str]) -> _Decision | None:
    if present == {"boolean"}:
        return _Decision("boolean")
    if not present <= {"boolean", "integer"}:
        return None
    zero_one = all(item.number in (0, 1) for _, item in typed if item.kind == "integer")
    if zero_one and (column.boolean_like or "boolean" in present):
        return _Decision("boolean")
    return None


def _decide_integer(column: _Name, typed: list[tuple[Any, _Value]], present: set[str]) -> _Decision | None:
    if present != {"integer"}:
        return None
    from_text = all(item.from_text for _, item in typed)
    if from_text and column.phone_like:
        return _Decision("phone")
    if from_text and column.postal_like:
        return _Decision("text", notes=["digits under a postal-code name kept as text"])
    if any(abs(item.number) > MAX_SAFE_INTEGER for _, item in typed):
        return _Decision("text", notes=[
            "integers beyond 2^53 stored as text because D1's JavaScript API would round them"])
    return _Decision("integer")


def _decide_money(column: _Name, typed: list[tuple[Any, _Value]], present: set[str]) -> _Decision | None:
    if not present <= {"integer", "number", "money"}:
        return None
    scale = max(item.decimals for _, item in typed)
    largest = max(abs(item.number) for _, item in typed)
    if largest.scaleb(max(2, scale)) > MAX_SAFE_INTEGER:
        return None
    if "money" in present and scale <= MONEY_MAX_SCALE:
        return _money_decision(column, typed)
    if column.money_like and "number" in present and scale <= 2:
        return _money_decision(column, typed)
    return None


def _money_decision(column: _Name, typed: list[tuple[Any, _Value]]) -> _Decision:
    """Return a money decision: scale 2, or more when values have more decimals, and the one currency seen."""
    scale = max((item.decimals for _, item in typed if item.kind in ("integer", "number", "money")), default=0)
    currencies = sorted({item.currency for _, item in typed if item.currency})
    notes = []
    if len(currencies) > 1:
        notes.append(f"mixed currencies ({', '.join(currencies)}): amounts are not comparable without a "
                     "currency column")
    currency = currencies[0] if len(currencies) == 1 else None
    if not currencies:
        currency = column.currency
    return _Decision("money", currency=currency, scale=max(2, scale), notes=notes)


def _decide_real(present: set[str]) -> _Decision | None:
    if present <= {"integer", "number"} and "number" in present:
        return _Decision("real")
    return None


def _decide_moment(typed: list[tuple[Any, _Value]], present: set[str]) -> _Decision | None:
    if not present <= {"date", "datetime", "dmy"}:
        return None
    has_time = "datetime" in present or any(item.has_time for _, item in typed)
    return _moment_decision(typed, "datetime" if has_time else "date")


def _moment_decision(typed: list[tuple[Any, _Value]], logical_type: str) -> _Decision | None:
    """Return a date or datetime decision with the day/month order and the fraction digits; None when no order fits."""
    decision = _Decision(logical_type)
    day_month = [item for _, item in typed if item.kind == "dmy"]
    if day_month and not _resolve_date_order(decision, day_month):
        return None
    if decision.logical_type == "datetime":
        moments = [item.moment for _, item in typed if isinstance(item.moment, datetime)]
        decision.fraction_digits = _fraction_digits(moments)
        naive = sum(1 for moment in moments if moment.tzinfo is None) + sum(
            1 for _, item in typed if item.kind == "dmy" and item.has_time)
        if naive == 1:
            decision.notes.append("1 timestamp has no UTC offset and is stored as written, without Z")
        elif naive:
            decision.notes.append(f"{naive} timestamps have no UTC offset and are stored as written, without Z")
    return decision


def _resolve_date_order(decision: _Decision, values: list[_Value]) -> bool:
    """Decide day-first or month-first for the whole column; False when no order fits every value."""
    first_over = any(item.parts[0] > 12 for item in values)
    second_over = any(item.parts[1] > 12 for item in values)
    if first_over and second_over:
        return False
    if first_over:
        decision.date_order = "day-first"
    elif second_over:
        decision.date_order = "month-first"
    else:
        separators = {item.separator for item in values}
        decision.date_order = "day-first" if separators == {"."} else "month-first"
        decision.date_order_ambiguous = True
        decision.notes.append(
            f"day and month order is ambiguous (no part above 12); read as {decision.date_order} because the "
            f"separator is {' and '.join(repr(separator) for separator in sorted(separators))}")
    try:
        for item in values:
            _dmy_date(item.parts, decision.date_order)
    except ValueError:
        return False
    return True


def _dmy_date(parts: tuple[int, int, int], order: str | None) -> date:
    first, second, year = parts
    day, month = (first, second) if order == "day-first" else (second, first)
    return date(year, month, day)


def _fraction_digits(moments: list[datetime]) -> int:
    micro = [moment.microsecond for moment in moments if moment.microsecond]
    if not micro:
        return 0
    return 3 if all(value % 1000 == 0 for value in micro) else 6


def _decide_shaped(column: _Name, typed: list[tuple[Any, _Value]], present: set[str]) -> _Decision | None:
    for kind in ("uuid", "email", "url", "json", "blob"):
        if present == {kind}:
            return _Decision(kind)
    if "phone" in present and present <= {"phone", "integer", "code"}:
        text_only = all(item.from_text or item.kind == "phone" for _, item in typed)
        strong = present == {"phone"} and all(item.strong for _, item in typed)
        if text_only and (column.phone_like or strong):
            return _Decision("phone")
    if "code" in present and present <= {"integer", "code"}:
        return _Decision("text", notes=["numbers with leading zeros kept as text"])
    return None


def _forced_decision(column: _Name, typed: list[tuple[Any, _Value]], logical_type: str) -> _Decision:
    """Return the decision for a type forced by a hint, with the attributes its conversion needs."""
    note = f"type {logical_type} forced by a hint"
    if logical_type == "money":
        decision = _money_decision(column, typed)
    elif logical_type in ("date", "datetime"):
        decision = _moment_decision(typed, logical_type)
        if decision is None:
            raise ValueError(f"column {column.snake!r}: no day/month order fits every date, so the forced type "
                             f"{logical_type} cannot be applied")
    else:
        decision = _Decision(logical_type)
    decision.notes.append(note)
    return decision


# --- conversion ------------------------------------------------------------------------------------------

def convert_value(value: Any, profile: ColumnProfile) -> Any:
    """Return ``value`` as stored in the profiled column: int, float, str or None.

    Raises ValueError when the value does not fit the column's type. Every
    value that ``profile_values`` saw fits the profile it returned.
    """
    if _is_missing(value):
        return None
    return _convert(value, None, profile)


def _convert(value: Any, item: _Value | None, profile: ColumnProfile) -> Any:
    """Convert a value that is not missing; ``item`` is its classification when the caller has it."""
    logical = profile.logical_type
    if logical in SHAPED_TYPES and isinstance(value, str) and value.strip().lower() in NAN_TOKENS:
        return None
    if profile.sqlite_type == "TEXT" and logical not in ("date", "datetime", "json"):
        return _as_text(value)
    item = item or _classify(value)
    try:
        converted = _CONVERTERS[logical](value, item, profile)
    except (ValueError, TypeError, InvalidOperation, KeyError):
        converted = None
    if converted is None:
        raise ValueError(f"value {value!r} does not fit column {profile.name!r} of type {logical}")
    return converted


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _to_integer(value: Any, item: _Value, profile: ColumnProfile) -> int | None:
    if item.kind != "integer":
        return None
    return int(item.number)


def _to_real(value: Any, item: _Value, profile: ColumnProfile) -> float | None:
    if item.kind not in ("integer", "number"):
        return None
    return float(item.number)


def _to_money(value: Any, item: _Value, profile: ColumnProfile) -> int | None:
    if item.kind not in ("integer", "number", "money"):
        return None
    scale = profile.scale or 0
    return int(item.number.scaleb(scale).to_integral_value(rounding=ROUND_HALF_EVEN))


def _to_boolean(value: Any, item: _Value, profile: ColumnProfile) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if item.kind == "integer" and item.number in (0, 1):
        return int(item.number)
    if item.kind == "boolean":
        return int(BOOLEAN_WORDS[str(value).strip().lower()])
    return None


def _to_date(value: Any, item: _Value, profile: ColumnProfile) -> str | None:
    if item.kind == "date":
        return item.moment.isoformat()
    if item.kind == "dmy" and not item.has_time:
        return _dmy_date(item.parts, profile.date_order).isoformat()
    return None


def _to_datetime(value: Any, item: _Value, profile: ColumnProfile) -> str | None:
    if item.kind == "date":
        return item.moment.isoformat()
    if item.kind == "dmy":
        day = _dmy_date(item.parts, profile.date_order)
        if not item.has_time:
            return day.isoformat()
        match = _DMY.match(str(value).strip())
        moment = datetime(day.year, day.month, day.day, int(match[5]), int(match[6]), int(match[7] or 0))
        return _format_datetime(moment, profile.fraction_digits)
    if item.kind == "datetime":
        return _format_datetime(item.moment, profile.fraction_digits)
    return None


def _format_datetime(moment: datetime, fraction_digits: int) -> str:
    """Format as ISO-8601: UTC with ``Z`` when the value had an offset, as written when it had none."""
    suffix = ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
        suffix = "Z"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        text += "." + f"{moment.microsecond:06d}"[:fraction_digits]
    return text + suffix


def _to_json(value: Any, item: _Value, profile: ColumnProfile) -> str | None:
    if item.kind != "json":
        return None
    return value if isinstance(value, str) else _as_text(value)


_CONVERTERS = {
    "integer": _to_integer,
    "real": _to_real,
    "decimal": _to_real,
    "money": _to_money,
    "boolean": _to_boolean,
    "date": _to_date,
    "datetime": _to_datetime,
    "json": _to_json,
    "blob": lambda value, item, profile: bytes(value) if isinstance(value, (bytes, bytearray)) else None,
}


# --- personal data ---------------------------------------------------------------------------------------

_PII_NAME_TYPES = frozenset({"text", "enum", "email", "phone", "json", "url"})


def suspect_pii(name: str, logical_type: str, values: Sequence[Any] = ()) -> PiiClass | None:
    """Return the personal-data class a column is suspected to hold, from its name, inferred type and values.

    ``values`` are the stored values of a text column. When the name says
    nothing, most of them (80 %) looking like emails, phone numbers or
    street addresses is enough.
    """
    from_name = _pii_from_name(_Name(name), logical_type)
    if from_name is not None or logical_type not in ("text", "enum"):
        return from_name
    return _pii_from_values([value for value in values if isinstance(value, str)])


def _pii_from_name(column: _Name, logical_type: str) -> PiiClass | None:
    if logical_type in ("email", "phone"):
        return logical_type  # type: ignore[return-value]
    if logical_type not in ("boolean", "date", "datetime") and (
            column.has(_SECRET_WORDS) or column.contains(_SECRET_PHRASES)):
        return "secret"
    if logical_type in ("date", "datetime", "text") and (
            column.has(_OTHER_PII_WORDS) or column.contains(_OTHER_PII_PHRASES)):
        return "other"
    if logical_type not in _PII_NAME_TYPES:
        return None
    if column.has(frozenset({"email", "mail", "emailaddress"})):
        return "email"
    if column.phone_like:
        return "phone"
    if column.has(_PERSON_NAME_WORDS) or column.contains(_PERSON_NAME_PHRASES):
        return "name"
    if column.has(_ADDRESS_WORDS) or column.contains(("postal_code", "address_line")):
        return "address"
    return None


_STREET_ADDRESS = re.compile(
    r"\d+[A-Za-z]?\s+(?:[\w'.-]+\s+){1,5}(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|"
    r"court|ct|place|pl|square|sq|terrace|parkway|pkwy|highway|hwy|village|rapids|strasse|straße)\b",
    re.IGNORECASE)
_STREET_ADDRESS_NUMBER_LAST = re.compile(
    r"(?:[\w'.-]+\s+){0,4}[\w'.-]*(?:strasse|straße|str\.|weg|gasse|platz|street|road|avenue)\s+\d+[A-Za-z]?\b",
    re.IGNORECASE)
_EMAIL_INSIDE = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_PII_VALUE_SHARE = 0.8


def _pii_from_values(texts: list[str]) -> PiiClass | None:
    if not texts:
        return None
    needed = _PII_VALUE_SHARE * len(texts)
    checks: list[tuple[PiiClass, Any]] = [
        ("email", lambda text: _EMAIL_INSIDE.search(text) is not None),
        ("phone", lambda text: (item := _classify_shaped_text(text.strip())) is not None and item.kind == "phone"
         and item.strong),
        ("address", lambda text: bool(_STREET_ADDRESS.match(text.strip())
                                      or _STREET_ADDRESS_NUMBER_LAST.match(text.strip()))),
    ]
    allowed_misses = len(texts) - needed
    for pii, check in checks:
        misses = 0
        for text in texts:
            if not check(text):
                misses += 1
                if misses > allowed_misses:
                    break
        else:
            return pii
    return None
