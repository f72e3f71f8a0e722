"""Column profiling and type inference: each inference rule, the missing-value rule, conversion and PII."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, strategies
from hypothesis import settings as hypothesis_settings

from dmodel.loaders import load_inputs
from dmodel.profile import ColumnProfile, convert_value, profile_values, suspect_pii

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def stored(name: str, values: list) -> tuple[ColumnProfile, list]:
    profile = profile_values(name, values)
    return profile, [convert_value(value, profile) for value in values]


# --- numbers and codes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    ["02134", "0870"],
    ["02134", "12345", "0870"],
    ["12345", "67890", "00501"],
])
def test_leading_zero_codes_stay_text(values):
    profile, converted = stored("postal", values)
    assert profile.logical_type == "text"
    assert profile.sqlite_type == "TEXT"
    assert converted == values


@pytest.mark.parametrize("first", [None, "", "   "])
def test_integer_column_with_missing_first_value(first):
    profile, converted = stored("quantity", [first, "3", "12", "-4"])
    assert profile.logical_type == "integer"
    assert profile.sqlite_type == "INTEGER"
    assert profile.null_count == 1
    assert converted == [None, 3, 12, -4]


def test_integer_column_from_json_numbers():
    profile, converted = stored("quantity", [None, 1, 2, 40])
    assert profile.logical_type == "integer"
    assert converted == [None, 1, 2, 40]


def test_column_turning_fractional_late_is_real():
    values = [str(index) for index in range(10_000)]
    values[9_000] = "9000.5"
    profile, converted = stored("measurement", values)
    assert profile.logical_type == "real"
    assert profile.sqlite_type == "REAL"
    assert converted[9_000] == 9000.5
    assert converted[1] == 1.0


def test_grouped_thousands_are_numbers():
    profile, converted = stored("population", ["1,250", "12,000,000", "7"])
    assert profile.logical_type == "integer"
    assert converted == [1250, 12000000, 7]


def test_big_integers_stored_as_text():
    big = 2 ** 53 + 1
    profile, converted = stored("external_id", [big, 5])
    assert profile.logical_type == "text"
    assert profile.sqlite_type == "TEXT"
    assert converted == [str(big), "5"]
    assert any("2^53" in note for note in profile.notes)


def test_number_beyond_double_range_is_text():
    profile, converted = stored("measurement", ["1e400", "2.5"])
    assert profile.logical_type == "text"
    assert converted == ["1e400", "2.5"]


def test_safe_integer_limit_stays_integer():
    profile = profile_values("external_id", [2 ** 53, 5])
    assert profile.logical_type == "integer"


# --- money -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values, currency, expected", [
    ("deal_value", ["$1,250.00", "$3.50"], "USD", [125000, 350]),
    ("deal_value", ["€3.50", "€1,000"], "EUR", [350, 100000]),
    ("deal_value", ["£12.00", "£0.99"], "GBP", [1200, 99]),
    ("deal_value", ["1.234,56 €", "3,50 €"], "EUR", [123456, 350]),
    ("deal_value", ["USD 12.00", "USD 7"], "USD", [1200, 700]),
    ("deal_value", ["-$5.00", "($2.25)"], "USD", [-500, -225]),
    ("price", ["409.94", "199.00", "0.00"], None, [40994, 19900, 0]),
    ("total_price_usd", ["409.94"], "USD", [40994]),
    ("amount", ["100", "12.50"], None, [10000, 1250]),
    ("Amount", ["69.0", "76.0"], None, [6900, 7600]),
    ("price", [409.94, 12], None, [40994, 1200]),
])
def test_money_in_minor_units(name, values, currency, expected):
    profile, converted = stored(name, values)
    assert profile.logical_type == "money"
    assert profile.sqlite_type == "INTEGER"
    assert profile.currency == currency
    assert profile.scale == 2
    assert converted == expected


def test_integer_amount_column_keeps_integer():
    profile = profile_values("amount", ["100", "250", "3"])
    assert profile.logical_type == "integer"


@pytest.mark.parametrize("name", ["ratio", "total_weight", "price_rate"])
def test_two_decimals_without_money_name_are_real(name):
    profile = profile_values(name, ["409.94", "1.50"])
    assert profile.logical_type == "real"


def test_money_name_with_three_decimals_is_real():
    profile = profile_values("price", ["1.005", "2.50"])
    assert profile.logical_type == "real"


def test_mixed_currencies_have_no_single_currency():
    profile = profile_values("deal_value", ["$1.00", "€2.00"])
    assert profile.logical_type == "money"
    assert profile.currency is None
    assert any("mixed currencies" in note for note in profile.notes)


# --- booleans --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values, expected", [
    ("subscribed", ["Yes", "No", "yes"], [1, 0, 1]),
    ("newsletter", ["Y", "N"], [1, 0]),
    ("newsletter", ["true", "False", "TRUE"], [1, 0, 1]),
    ("is_active", ["0", "1", "1"], [0, 1, 1]),
    ("has_children", [0, 1], [0, 1]),
    ("export_flag", ["1", "0"], [1, 0]),
    ("active", [1, 0, None], [1, 0, None]),
    ("confirmed", [True, False], [1, 0]),
    ("status", ["t", "f"], [1, 0]),
])
def test_booleans_stored_as_zero_one(name, values, expected):
    profile, converted = stored(name, values)
    assert profile.logical_type == "boolean"
    assert profile.sqlite_type == "INTEGER"
    assert converted == expected


@pytest.mark.parametrize("name", ["children", "order_count", "retries", "test_score", "use_count"])
def test_zero_one_count_stays_integer(name):
    profile = profile_values(name, ["0", "1", "1", "0"])
    assert profile.logical_type == "integer"


def test_boolean_name_with_other_integers_stays_integer():
    profile = profile_values("is_active", ["0", "1", "2"])
    assert profile.logical_type == "integer"


# --- dates and timestamps --------------------------------------------------------------------------------

def test_iso_dates():
    profile, converted = stored("close_date", ["2026-03-14", "2026-12-01"])
    assert profile.logical_type == "date"
    assert profile.sqlite_type == "TEXT"
    assert converted == ["2026-03-14", "2026-12-01"]


@pytest.mark.parametrize("value, expected", [
    ("2026-02-03T10:15:00+01:00", "2026-02-03T09:15:00Z"),
    ("2026-02-03T10:15:00Z", "2026-02-03T10:15:00Z"),
    ("2008-01-10T11:00:00-05:00", "2008-01-10T16:00:00Z"),
    ("2026-02-03 23:30:00-02:00", "2026-02-04T01:30:00Z"),
])
def test_timestamps_with_offsets_stored_as_utc(value, expected):
    profile, converted = stored("created_at", [value])
    assert profile.logical_type == "datetime"
    assert profile.sqlite_type == "TEXT"
    assert converted == [expected]


def test_fractional_seconds_share_one_precision():
    profile, converted = stored("created_at", ["2026-02-03T10:15:00.5Z", "2026-02-03T10:15:01Z"])
    assert profile.fraction_digits == 3
    assert converted == ["2026-02-03T10:15:00.500Z", "2026-02-03T10:15:01.000Z"]


def test_timestamps_without_offset_kept_as_written():
    profile, converted = stored("created_at", ["2026-02-03 10:15:00"])
    assert profile.logical_type == "datetime"
    assert converted == ["2026-02-03T10:15:00"]
    assert any("no UTC offset" in note for note in profile.notes)


@pytest.mark.parametrize("values, order, ambiguous, expected", [
    (["14/03/2026", "01/02/2026"], "day-first", False, ["2026-03-14", "2026-02-01"]),
    (["14.03.2026", "01.02.2026"], "day-first", False, ["2026-03-14", "2026-02-01"]),
    (["03/14/2026", "01/02/2026"], "month-first", False, ["2026-03-14", "2026-01-02"]),
    (["01/02/2026", "03/04/2026"], "month-first", True, ["2026-01-02", "2026-03-04"]),
    (["01.02.2026", "03.04.2026"], "day-first", True, ["2026-02-01", "2026-04-03"]),
    (["01-02-2026", "03-04-2026"], "month-first", True, ["2026-01-02", "2026-03-04"]),
    (["01.02.2026", "03/04/2026"], "month-first", True, ["2026-01-02", "2026-03-04"]),
])
def test_day_month_order_decided_over_column(values, order, ambiguous, expected):
    profile, converted = stored("signed_on", values)
    assert profile.logical_type == "date"
    assert profile.date_order == order
    assert profile.date_order_ambiguous is ambiguous
    assert converted == expected


@pytest.mark.parametrize("value", ["14 Mar 2026", "14-March-2026", "Mar 14, 2026", "March 14 2026", "14 Sept 2026"])
def test_month_name_dates(value):
    profile, converted = stored("signed_on", [value])
    assert profile.logical_type == "date"
    assert converted == ["2026-09-14" if "Sept" in value else "2026-03-14"]


def test_unknown_month_word_is_text():
    assert profile_values("signed_on", ["14 Foo 2026"]).logical_type == "text"


def test_late_day_first_value_decides_order():
    values = ["01/02/2026"] * 500 + ["25/12/2026"]
    profile, converted = stored("signed_on", values)
    assert profile.date_order == "day-first"
    assert converted[0] == "2026-02-01"


def test_conflicting_day_month_order_is_text():
    profile = profile_values("signed_on", ["14/03/2026", "03/14/2026"])
    assert profile.logical_type == "text"


def test_invalid_calendar_date_is_text():
    profile = profile_values("signed_on", ["2026-02-30", "2026-03-01"])
    assert profile.logical_type == "text"


# --- shaped text, JSON, enums ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, values, logical_type", [
    ("contact", ["ada@example.com", "grace.hopper@navy.mil"], "email"),
    ("homepage", ["https://example.com/a?b=c", "http://www.example.org"], "url"),
    ("contact_phone", ["221.285.1033", "+1-081-230-6073x31438", "(555) 123-4567"], "phone"),
    ("phone", ["5551234", "555-1234"], "phone"),
    ("reference", ["+44 20 7946 0958", "+1 (555) 010-9999"], "phone"),
    ("external_ref", ["0b6d8f3e-9a4c-4c8e-b2a7-3f1e2d4c5b6a", "9C5B94B1-35AD-49BB-B118-8E8FC24ABF80"], "uuid"),
    ("settings", [{"theme": "dark"}, ["a", "b"]], "json"),
    ("settings", ['{"theme": "dark"}', "[1, 2]"], "json"),
    ("host", ["192.168.1.10", "10.0.0.1"], "text"),
    ("version", ["1.2.3", "10.15.7"], "text"),
    ("comment", ["great", "late delivery"], "text"),
])
def test_shaped_text_types(name, values, logical_type):
    profile = profile_values(name, values)
    assert profile.logical_type == logical_type
    assert profile.sqlite_type == "TEXT"


def test_bytes_are_blob():
    profile, converted = stored("thumbnail", [b"\x01\x02", None, "N/A"])
    assert profile.logical_type == "blob"
    assert profile.sqlite_type == "BLOB"
    assert converted == [b"\x01\x02", None, None]
    assert profile.to_dict()["examples"] == ["0102"]


def test_json_values_stored_as_json_text():
    profile, converted = stored("settings", [{"theme": "dark", "size": 2}, [1, "a"]])
    assert converted == ['{"theme":"dark","size":2}', '[1,"a"]']


def test_small_repeated_value_set_is_enum():
    values = ["won", "lost", "open", "won"] * 5
    profile = profile_values("stage", values)
    assert profile.logical_type == "enum"
    assert profile.enum_values == ["lost", "open", "won"]


@pytest.mark.parametrize("values", [
    ["won", "lost", "open", "won"] * 4,
    ["won", "lost", "open", "won"] * 5 + ["once"],
    [f"value {index % 13}" for index in range(40)],
])
def test_value_set_not_enum(values):
    profile = profile_values("stage", values)
    assert profile.logical_type == "text"
    assert profile.enum_values is None


# --- missing values --------------------------------------------------------------------------------------

def test_nan_like_strings_missing_in_numeric_column():
    values = ["1", "N/A", "2", "NaN", "null", "NULL", "None", "-", "n/a", None, ""]
    profile, converted = stored("quantity", values)
    assert profile.logical_type == "integer"
    assert profile.missing_tokens == 7
    assert profile.null_count == 9
    assert converted == [1, None, 2, None, None, None, None, None, None, None, None]


def test_nan_like_strings_missing_in_date_column():
    profile = profile_values("close_date", ["2026-03-14", "N/A"])
    assert profile.logical_type == "date"
    assert profile.missing_tokens == 1


def test_null_text_kept_in_text_column():
    profile, converted = stored("last_name", ["Null", "Lovelace", None, "", "  "])
    assert profile.logical_type == "text"
    assert profile.null_count == 3
    assert profile.missing_tokens == 0
    assert converted == ["Null", "Lovelace", None, None, None]


def test_float_nan_is_missing():
    profile = profile_values("score", [1.5, float("nan")])
    assert profile.logical_type == "real"
    assert profile.null_count == 1


def test_all_missing_column_is_text():
    profile = profile_values("note", [None, "", None])
    assert profile.logical_type == "text"
    assert profile.null_count == 3
    assert profile.distinct_count == 0


# --- counts, examples, conversion ------------------------------------------------------------------------

def test_counts_and_examples():
    profile = profile_values("city", ["Paris", None, "Oslo", "Paris", "Rome", "Lima"])
    assert profile.count == 6
    assert profile.null_count == 1
    assert profile.distinct_count == 4
    assert profile.unique is False
    assert profile.examples == ["Paris", "Oslo", "Rome"]
    assert profile.max_length == 5


@pytest.mark.parametrize("values, unique", [
    (["a", "b", None], True),
    (["a"], False),
    (["a", "a"], False),
    (["$1.00", "1.00"], False),
])
def test_unique_needs_two_distinct_stored_values(values, unique):
    assert profile_values("deal_value", values).unique is unique


def test_convert_rejects_value_outside_profile():
    profile = profile_values("quantity", ["1", "2"])
    with pytest.raises(ValueError, match="does not fit column 'quantity'"):
        convert_value("many", profile)


def test_profile_is_deterministic():
    values = ["won", "lost", None, "won", "$3"]
    assert profile_values("stage", values) == profile_values("stage", values)


def test_to_dict_is_json_ready():
    profile = profile_values("settings", [{"a": 1}, None])
    data = profile.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["logical_type"] == "json"


def test_to_dict_redacts_secret_examples():
    profile = profile_values("api_key", ["sk-live-123", "sk-live-456"])
    assert profile.pii == "secret"
    assert profile.to_dict()["examples"] == ["[redacted]", "[redacted]"]


def test_to_dict_masks_personal_examples():
    profile = profile_values("email", ["ada@example.com", "grace@example.com"])
    examples = profile.to_dict()["examples"]
    assert len(examples) == 2
    assert all(example.endswith("@example.invalid") for example in examples)
    assert "ada" not in json.dumps(examples)
    assert profile.examples == ["ada@example.com", "grace@example.com"]


# --- forced types ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("forced, values, sqlite_type, expected", [
    ("text", ["1", "2", None], "TEXT", ["1", "2", None]),
    ("money", ["3", "4.5"], "INTEGER", [300, 450]),
    ("date", ["01/02/2026", "2026-03-04"], "TEXT", ["2026-01-02", "2026-03-04"]),
    ("real", ["1", "2"], "REAL", [1.0, 2.0]),
    ("enum", ["b", "a", "b"], "TEXT", ["b", "a", "b"]),
])
def test_forced_type(forced, values, sqlite_type, expected):
    profile = profile_values("column", values, logical_type=forced)
    assert profile.logical_type == forced
    assert profile.sqlite_type == sqlite_type
    assert [convert_value(value, profile) for value in values] == expected
    assert "type " + forced + " forced by a hint" in profile.notes


def test_forced_enum_lists_values():
    profile = profile_values("stage", ["b", "a", "b"], logical_type="enum")
    assert profile.enum_values == ["a", "b"]


def test_forced_type_rejects_unfit_value():
    with pytest.raises(ValueError, match="'many'"):
        profile_values("quantity", ["1", "many"], logical_type="integer")


def test_forced_date_without_day_month_order():
    with pytest.raises(ValueError, match="day/month order"):
        profile_values("signed_on", ["14/03/2026", "03/14/2026"], logical_type="date")


# --- personal data ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values, pii", [
    ("contact", ["ada@example.com"], "email"),
    ("Email", ["", "x@example.net"], "email"),
    ("MobilePhone", ["033.134.7156x7943"], "phone"),
    ("FirstName", ["Ada"], "name"),
    ("last_name", ["Lovelace"], "name"),
    ("surname", ["Lovelace"], "name"),
    ("BillingStreet", ["2852 Caleb Village"], "address"),
    ("address1", ["Chestnut Street 92"], "address"),
    ("password", ["hunter2"], "secret"),
    ("api_key", ["abc"], "secret"),
    ("auth_token", ["abc"], "secret"),
    ("client_secret", ["abc"], "secret"),
    ("Birthdate", ["2000-04-18"], "other"),
    ("product_name", ["IPod Nano"], None),
    ("title", ["Systems analyst"], None),
    ("email_verified", [True, False], None),
    ("password_changed_at", ["2026-02-03T10:15:00Z"], None),
])
def test_pii_suspicion(name, values, pii):
    assert profile_values(name, values).pii == pii


@pytest.mark.parametrize("name, values, pii", [
    ("notes", ["Contact ada@example.com", "grace@example.com today"], "email"),
    ("location", ["2852 Caleb Village Suite 428", "6070 Davidson Rapids", "12 Main St"], "address"),
    ("location", ["Chestnut Street 92", "Hauptstraße 5"], "address"),
    ("contact", ["+44 20 7946 0958", "221.285.1033"], "phone"),
    ("notes", ["call ada@example.com", "no contact", "later", "n/a", "ok"], None),
    ("title", ["3 Days of the Condor", "Notes"], None),
    ("owner", ["Ada Lovelace", "Grace Hopper"], None),
])
def test_pii_suspicion_from_values(name, values, pii):
    assert profile_values(name, values).pii == pii


def test_suspect_pii_by_type():
    assert suspect_pii("contact", "email") == "email"
    assert suspect_pii("first_name", "integer") is None


# --- stored values in a real STRICT table ----------------------------------------------------------------

def test_converted_values_insert_into_strict_table():
    columns = {
        "quantity": [None, "3", "N/A", "12"],
        "price": ["409.94", "199.00", "", "0.50"],
        "is_active": ["1", "0", "1", "0"],
        "created_at": ["2026-02-03T10:15:00+01:00", "2026-02-03T10:15:00Z", None, "2026-02-04T00:00:00Z"],
        "settings": [{"a": 1}, None, [1, 2], {}],
        "zip": ["02134", "12345", "0870", None],
        "external_id": [2 ** 60, 1, 2, 3],
    }
    profiles = {name: profile_values(name, values) for name, values in columns.items()}
    definitions = []
    for name, profile in profiles.items():
        check = ""
        if profile.logical_type == "boolean":
            check = f" CHECK ({name} IN (0, 1))"
        elif profile.logical_type == "json":
            # SQLite 3.40 returns 0, not NULL, for json_valid(NULL), so a nullable column needs IS NULL.
            check = f" CHECK ({name} IS NULL OR json_valid({name}))"
        definitions.append(f"{name} {profile.sqlite_type}{check}")
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(f"CREATE TABLE samples ({', '.join(definitions)}) STRICT")
    rows = [
        [convert_value(columns[name][index], profiles[name]) for name in columns]
        for index in range(4)
    ]
    connection.executemany(f"INSERT INTO samples VALUES ({', '.join('?' for _ in columns)})", rows)

    stored_rows = connection.execute("SELECT * FROM samples ORDER BY rowid").fetchall()
    assert stored_rows[0] == (None, 40994, 1, "2026-02-03T09:15:00Z", '{"a":1}', "02134", str(2 ** 60))
    assert connection.execute("SELECT sum(price) FROM samples").fetchone() == (60944,)
    assert connection.execute("SELECT count(*) FROM samples WHERE quantity IS NULL").fetchone() == (2,)


# --- the real files --------------------------------------------------------------------------------------

def real_file(*parts: str) -> str:
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real input {'/'.join(parts)} is absent in this checkout")
    return str(path)


def profiles_of(dataset) -> dict[str, ColumnProfile]:
    names: list[str] = []
    for record in dataset.records:
        names.extend(name for name in record if name not in names)
    return {name: profile_values(name, [record.get(name) for record in dataset.records]) for name in names}


def test_real_shopify_order_types():
    loaded = load_inputs([real_file("shopify", "order.json")])
    profiles = profiles_of(loaded.datasets[0])
    assert profiles["total_price"].logical_type == "money"
    assert convert_value("409.94", profiles["total_price"]) == 40994
    assert profiles["total_price_usd"].currency == "USD"
    assert profiles["created_at"].logical_type == "datetime"
    assert convert_value("2008-01-10T11:00:00-05:00", profiles["created_at"]) == "2008-01-10T16:00:00Z"
    assert profiles["taxes_included"].logical_type == "boolean"
    assert profiles["total_weight"].logical_type == "integer"
    assert profiles["line_items"].logical_type == "json"
    assert profiles["email"].pii == "email"
    assert profiles["token"].pii == "secret"


def test_real_cumulusci_varchar_columns_typed():
    loaded = load_inputs([real_file("cumulusci", "sample.sql")])
    by_name = {dataset.name: profiles_of(dataset) for dataset in loaded.datasets}
    account, contact, opportunity = by_name["Account"], by_name["Contact"], by_name["Opportunity"]
    assert account["NumberOfEmployees"].logical_type == "integer"
    assert account["NumberOfEmployees"].null_count == 1
    assert account["Phone"].logical_type == "phone"
    assert account["Website"].logical_type == "url"
    assert contact["Birthdate"].logical_type == "date"
    assert contact["Email"].logical_type == "email"
    assert contact["AccountId"].logical_type == "integer"
    assert opportunity["CloseDate"].logical_type == "date"
    assert opportunity["Amount"].logical_type == "money"
    assert convert_value("69.0", opportunity["Amount"]) == 6900
    assert account["Description"].null_count == 1


# --- every value converts ---------------------------------------------------------------------------------

_SAMPLE_STRINGS = ["", " ", "0", "1", "02134", "12.50", "$3.00", "€1.234,56", "1,250", "N/A", "null", "Null",
                   "yes", "N", "2026-03-14", "14/03/2026", "03/14/2026", "2026-02-03T10:15:00+01:00",
                   "ada@example.com", "https://example.com", "+1 555 010 9999", '{"a": 1}', "[1",
                   "0b6d8f3e-9a4c-4c8e-b2a7-3f1e2d4c5b6a", "1e5", "-", "(5.00)", "9007199254740993", "text",
                   "14 Mar 2026", "Mar 14, 2026"]


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    name=strategies.sampled_from(["amount", "is_active", "phone", "zip", "created_at", "notes", "total_weight"]),
    values=strategies.lists(strategies.one_of(
        strategies.sampled_from(_SAMPLE_STRINGS),
        strategies.none(),
        strategies.booleans(),
        strategies.integers(min_value=-(2 ** 64), max_value=2 ** 64),
        strategies.floats(allow_infinity=False),
        strategies.binary(max_size=3),
        strategies.text(max_size=8),
        strategies.dictionaries(strategies.text(max_size=3), strategies.integers(), max_size=2),
    ), max_size=30),
)
def test_every_profiled_value_converts(name, values):
    profile = profile_values(name, values)
    python_types = {"INTEGER": int, "REAL": float, "TEXT": str, "BLOB": bytes}[profile.sqlite_type]
    for value in values:
        converted = convert_value(value, profile)
        assert converted is None or type(converted) is python_types
    assert profile.null_count <= profile.count
    assert profile.distinct_count <= profile.count - profile.null_count
