"""Input loaders: every accepted shape and format, SQL dumps of three dialects, and each input error."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, strategies
from hypothesis import settings as hypothesis_settings
from sqlglot import exp

from dmodel.errors import InputError
from dmodel.loaders import LoadedInput, _parse_array_text, load_inputs, sql_logical_type

DATA = Path(__file__).resolve().parent / "data" / "loaders"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_one(path: Path | str, format: str | None = None) -> LoadedInput:  # noqa: A002
    return load_inputs([str(path)], format=format)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def input_error(paths: list[str], format: str | None = None) -> InputError:  # noqa: A002
    with pytest.raises(InputError) as caught:
        load_inputs(paths, format=format)
    return caught.value


# --- JSON shapes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("file_name, content, name, records", [
    ("deals.json", [{"id": 1}, {"id": 2}], "deals", [{"id": 1}, {"id": 2}]),
    ("export.json", {"order": {"id": 7, "lines": [{"sku": "A"}]}}, "orders", [{"id": 7, "lines": [{"sku": "A"}]}]),
    ("export.json", {"orders": [{"id": 1}, {"id": 2}]}, "orders", [{"id": 1}, {"id": 2}]),
    ("export.json", {"line_item": {"sku": "A"}}, "line_items", [{"sku": "A"}]),
    ("person.json", {"id": 1, "name": "Ada"}, "person", [{"id": 1, "name": "Ada"}]),
    ("person.json", {"name": "Ada"}, "person", [{"name": "Ada"}]),
])
def test_json_record_shapes(tmp_path, file_name, content, name, records):
    loaded = load_one(write(tmp_path, file_name, json.dumps(content)))
    assert [dataset.name for dataset in loaded.datasets] == [name]
    assert loaded.datasets[0].records == records
    assert loaded.datasets[0].origin == "json"
    assert loaded.datasets[0].source == file_name


def test_raw_files_give_empty_discovery(tmp_path):
    loaded = load_one(write(tmp_path, "deals.json", '[{"id": 1}]'))
    assert loaded.discovery.entities == []
    assert loaded.discovery.datasets == []


@pytest.mark.parametrize("file_name", ["events.ndjson", "events.jsonl"])
def test_ndjson_skips_blank_lines(tmp_path, file_name):
    content = (DATA / "events.ndjson").read_text(encoding="utf-8")
    loaded = load_one(write(tmp_path, file_name, content))
    dataset = loaded.datasets[0]
    assert dataset.name == "events"
    assert dataset.origin == "ndjson"
    assert dataset.records == [
        {"id": 1, "tags": ["a", "b"], "owner": {"name": "Ada"}},
        {"id": 2, "tags": [], "owner": None},
    ]


# --- CSV and TSV -----------------------------------------------------------------------------------------

def test_csv_sniffs_semicolons_and_keeps_cells():
    loaded = load_one(DATA / "contacts_semicolon.csv")
    dataset = loaded.datasets[0]
    assert dataset.origin == "csv"
    assert list(dataset.records[0]) == ["id", "name", "notes", "zip"]
    assert dataset.records[0]["notes"] == "line one\r\nline two"
    assert dataset.records[1]["notes"] == ""
    assert dataset.records[2]["name"] == "Semi; colon"
    assert dataset.records[2]["notes"] == 'say "hi"'
    assert [record["zip"] for record in dataset.records] == ["02134", "0870", "12345"]


def test_tsv_by_extension():
    dataset = load_one(DATA / "stock.tsv").datasets[0]
    assert dataset.records == [
        {"sku": "A-1", "qty": "3", "price": "9.99"},
        {"sku": "B-2", "qty": "", "price": "19.50"},
    ]


@pytest.mark.parametrize("content", [
    "a,b\n1,2\n",
    "\ufeffa,b\n1,2\n",
    "a,b\r\n1,2\r\n",
    "a|b\n1|2\n",
    "a\tb\n1\t2\n",
])
def test_csv_dialects_and_bom(tmp_path, content):
    dataset = load_one(write(tmp_path, "rows.csv", content)).datasets[0]
    assert dataset.records == [{"a": "1", "b": "2"}]


def test_csv_excel_separator_line(tmp_path):
    path = write(tmp_path, "rows.csv", "sep=;\na;b\n1,5;2\n3\n")
    assert input_error([str(path)]).place == "line 4"
    dataset = load_one(write(tmp_path, "good.csv", "sep=;\r\na;b\r\n1,5;2\r\n")).datasets[0]
    assert dataset.records == [{"a": "1,5", "b": "2"}]


def test_csv_large_field(tmp_path):
    big = "x" * 500_000
    dataset = load_one(write(tmp_path, "rows.csv", f'id,body\n1,"{big}"\n')).datasets[0]
    assert len(dataset.records[0]["body"]) == 500_000


def test_csv_single_column(tmp_path):
    dataset = load_one(write(tmp_path, "names.csv", "name\nAda\nGrace\n")).datasets[0]
    assert dataset.records == [{"name": "Ada"}, {"name": "Grace"}]


def test_csv_one_column_with_delimiter_characters(tmp_path):
    dataset = load_one(write(tmp_path, "notes.csv", 'note\n";"\n",;"\n""\n')).datasets[0]
    assert dataset.records == [{"note": ";"}, {"note": ",;"}, {"note": ""}]


def test_csv_header_repeats_and_blanks(tmp_path):
    dataset = load_one(write(tmp_path, "rows.csv", "email, email ,\nx,y,z\n")).datasets[0]
    assert dataset.records == [{"email": "x", "email_2": "y", "column_3": "z"}]


def test_utf16_with_bom(tmp_path):
    dataset = load_one(write(tmp_path, "rows.csv", "name,city\nJosé,Zürich\n".encode("utf-16"))).datasets[0]
    assert dataset.records == [{"name": "José", "city": "Zürich"}]


# --- folders and several paths ---------------------------------------------------------------------------

def test_folder_loads_supported_files_by_name():
    loaded = load_one(DATA / "folder")
    assert [dataset.name for dataset in loaded.datasets] == ["a_people", "b_deals"]
    assert loaded.skipped == [str(DATA / "folder" / "README.md")]
    assert loaded.files == [str(DATA / "folder" / "a_people.json"), str(DATA / "folder" / "b_deals.csv")]
    assert loaded.datasets[1].records[0]["amount"] == "$1,250.00"


def test_same_stem_in_two_paths_gets_suffix(tmp_path):
    first = write(tmp_path, "a/deals.json", '[{"id": 1}]')
    second = write(tmp_path, "b/deals.csv", "id\n2\n")
    loaded = load_inputs([str(first), str(second)])
    assert [dataset.name for dataset in loaded.datasets] == ["deals", "deals_2"]
    assert loaded.datasets[1].notes


def test_format_option_overrides_extension(tmp_path):
    path = write(tmp_path, "export.txt", "a,b\n1,2\n")
    assert load_one(path, format="csv").datasets[0].records == [{"a": "1", "b": "2"}]


# --- discovery documents ---------------------------------------------------------------------------------

def test_discovery_with_paths_and_inline_records():
    document = DATA / "discovery" / "discovery.json"
    loaded = load_one(document)
    names = [dataset.name for dataset in loaded.datasets]
    assert names == ["hubspot_deals", "dataset_2", "contacts"]

    deals, inline, contacts = loaded.datasets
    assert deals.source == "HubSpot deals export"
    assert deals.entity == "deals"
    assert deals.origin == "csv"
    assert deals.file == str(DATA / "discovery" / "exports" / "deals.csv")
    assert deals.records[0] == {"deal_id": "D-1", "name": "Acme renewal", "amount": "1250.00",
                                "close_date": "14/03/2026"}
    assert inline.records == [{"sku": "A-1", "price": "9.99"}]
    assert inline.file == str(document)
    assert contacts.origin == "ndjson"
    assert loaded.files == [str(document), deals.file, contacts.file]


def test_discovery_synonyms_folded():
    discovery = load_one(DATA / "discovery" / "discovery.json").discovery
    assert discovery.client.name == "Acme Corp"
    assert [entity.name for entity in discovery.entities] == ["deals"]
    assert [field.name for field in discovery.entities[0].fields] == ["deal_id", "amount"]
    assert discovery.query_patterns[0].filter == ["stage"]


def test_folder_file_named_by_discovery_loaded_once(tmp_path):
    write(tmp_path, "a_deals.csv", "id,amount\n1,2.50\n")
    write(tmp_path, "b_notes.csv", "id,text\n1,hello\n")
    write(tmp_path, "discovery.json", json.dumps({
        "datasets": [{"name": "hubspot_deals", "source": "HubSpot deals export", "path": "a_deals.csv"}]}))
    write(tmp_path, "archive/old.csv", "id\n1\n")
    loaded = load_one(tmp_path)
    assert [dataset.name for dataset in loaded.datasets] == ["hubspot_deals", "b_notes"]
    assert loaded.files == [str(tmp_path / "discovery.json"), str(tmp_path / "a_deals.csv"),
                            str(tmp_path / "b_notes.csv")]
    assert loaded.skipped == [str(tmp_path / "archive")]


def test_two_discovery_documents_merge(tmp_path):
    first = write(tmp_path, "one.json", json.dumps({
        "client": {"name": "Acme"}, "entities": [{"name": "deals"}],
        "datasets": [{"name": "a", "records": [{"x": 1}]}]}))
    second = write(tmp_path, "two.json", json.dumps({
        "client": {"name": "Other", "region": "EU"}, "entities": [{"name": "contacts"}],
        "tenancy": {"tenants": 40}}))
    discovery = load_inputs([str(first), str(second)]).discovery
    assert discovery.client.name == "Acme"
    assert discovery.client.region == "EU"
    assert [entity.name for entity in discovery.entities] == ["deals", "contacts"]
    assert discovery.tenancy.tenants == 40


# --- SQL dumps -------------------------------------------------------------------------------------------

def entity_fields(loaded: LoadedInput, name: str) -> dict[str, tuple]:
    entity = next(entity for entity in loaded.discovery.entities if entity.name == name)
    return {field.name: (field.type, field.required, field.unique) for field in entity.fields}


def test_postgres_dump_entities():
    loaded = load_one(DATA / "postgres_dump.sql")
    assert [entity.name for entity in loaded.discovery.entities] == ["customers", "orders"]
    assert entity_fields(loaded, "customers") == {
        "id": ("integer", True, True),
        "email": ("text", True, True),
        "full_name": ("text", False, False),
        "balance": ("decimal", False, False),
        "signed_up_at": ("datetime", False, False),
        "is_active": ("boolean", True, False),
        "external_ref": ("uuid", False, False),
        "settings": ("json", False, False),
    }
    assert entity_fields(loaded, "orders")["total"] == ("money", False, False)
    assert entity_fields(loaded, "orders")["placed_on"] == ("date", True, False)
    orders = loaded.discovery.entities[1]
    assert orders.key == ["id"]
    relationship = orders.relationships[0]
    assert (relationship.target, relationship.cardinality, relationship.field) == ("customers", "N:1", "customer_id")
    assert relationship.optional is False
    assert relationship.on_delete == "CASCADE"


def test_postgres_dump_rows_from_copy_and_insert():
    loaded = load_one(DATA / "postgres_dump.sql")
    customers, orders = loaded.datasets
    assert (customers.name, customers.entity, customers.origin) == ("customers", "customers", "sql")
    assert customers.records[0]["signed_up_at"] == "2026-02-03 10:15:00+01"
    assert customers.records[1]["external_ref"] is None
    assert customers.records[2]["full_name"] == "Tab\tSeparated"
    assert orders.records == [
        {"id": 1, "customer_id": 1, "placed_on": "2026-03-14", "total": 19.99, "note": "first"},
        {"id": 2, "customer_id": 1, "placed_on": "2026-03-15", "total": 5.0, "note": None},
        {"id": 3, "customer_id": 2, "placed_on": "2026-03-16", "total": 120.0, "note": "it's quoted"},
    ]


def test_mysql_dump_backticks_and_auto_increment():
    loaded = load_one(DATA / "mysql_dump.sql")
    assert [entity.name for entity in loaded.discovery.entities] == ["categories", "products"]
    fields = entity_fields(loaded, "products")
    assert fields["id"] == ("integer", True, True)
    assert fields["sku"] == ("text", True, True)
    assert fields["status"] == ("enum", True, False)
    assert fields["in_stock"] == ("boolean", True, False)
    assert fields["price"] == ("decimal", True, False)
    assert fields["created"] == ("datetime", True, False)
    assert entity_fields(loaded, "categories")["name"] == ("text", True, True)
    status = next(field for field in loaded.discovery.entities[1].fields if field.name == "status")
    assert status.examples == ["draft", "active", "retired"]
    relationship = loaded.discovery.entities[1].relationships[0]
    assert (relationship.target, relationship.optional, relationship.on_delete) == ("categories", True, "SET NULL")
    products = loaded.datasets[1]
    assert products.records[2] == {"id": 3, "category_id": None, "sku": "XX-0003", "status": "retired",
                                   "in_stock": 1, "price": 100.0, "weight_kg": 2.25,
                                   "created": "2026-01-04 11:45:00"}


def test_postgres_enum_types_and_arrays():
    loaded = load_one(DATA / "postgres_types.sql")
    assert [entity.name for entity in loaded.discovery.entities] == ["people"]
    mood = next(field for field in loaded.discovery.entities[0].fields if field.name == "current_mood")
    assert (mood.type, mood.examples) == ("enum", ["sad", "ok", "happy"])
    assert entity_fields(loaded, "people")["email"] == ("text", True, True)
    records = loaded.datasets[0].records
    assert [record["tags"] for record in records] == [["a", "b"], []]
    assert records[1]["current_mood"] is None


@pytest.mark.parametrize("text, items", [
    ("{}", []),
    ("{a,b}", ["a", "b"]),
    ('{"c d","e\\"f",NULL}', ["c d", 'e"f', None]),
    ("{{1,2},{3,4}}", None),
    ('{a,"b}', None),
])
def test_array_text_parsing(text, items):
    assert _parse_array_text(text) == items


def test_mysql_dump_with_generated_columns():
    loaded = load_one(DATA / "mysql_features.sql")
    fields = entity_fields(loaded, "posts")
    assert list(fields) == ["id", "title", "body", "author_id", "updated_at", "slug", "price"]
    assert fields["updated_at"] == ("datetime", True, False)
    relationship = loaded.discovery.entities[0].relationships[0]
    assert (relationship.target, relationship.field, relationship.on_delete) == ("users", "author_id", "CASCADE")
    assert loaded.datasets[0].records[0]["body"] == "Body with 'quotes' and \\ backslash"


@pytest.mark.parametrize("sql_type, dialect, logical_type", [
    ("VARCHAR(255)", "sqlite", "text"),
    ("INTEGER", "sqlite", "integer"),
    ("BIGINT", "postgres", "integer"),
    ("SERIAL", "postgres", "integer"),
    ("NUMERIC(12,2)", "postgres", "decimal"),
    ("NUMERIC(10)", "postgres", "integer"),
    ("NUMBER(10,0)", "oracle", "integer"),
    ("NUMBER(10,2)", "oracle", "decimal"),
    ("MONEY", "postgres", "money"),
    ("DOUBLE PRECISION", "postgres", "real"),
    ("REAL", "sqlite", "real"),
    ("BOOLEAN", "postgres", "boolean"),
    ("TINYINT(1)", "mysql", "boolean"),
    ("TINYINT(4)", "mysql", "integer"),
    ("BIT", "tsql", "boolean"),
    ("DATE", "postgres", "date"),
    ("TIMESTAMP WITH TIME ZONE", "postgres", "datetime"),
    ("DATETIME2", "tsql", "datetime"),
    ("TIME", "postgres", "text"),
    ("UUID", "postgres", "uuid"),
    ("UNIQUEIDENTIFIER", "tsql", "uuid"),
    ("JSONB", "postgres", "json"),
    ("TEXT[]", "postgres", "json"),
    ("BYTEA", "postgres", "blob"),
    ("BLOB", "sqlite", "blob"),
    ("VARCHAR2(20)", "oracle", "text"),
    ("ENUM('a','b')", "mysql", "enum"),
])
def test_sql_type_mapping(sql_type, dialect, logical_type):
    assert sql_logical_type(exp.DataType.build(sql_type, dialect=dialect)) == logical_type


@pytest.mark.parametrize("format_name", ["postgres", "sql", None])
def test_sql_format_option(format_name):
    loaded = load_one(DATA / "postgres_dump.sql", format=format_name)
    assert len(loaded.datasets[1].records) == 3


def test_sql_transaction_control_ignored(tmp_path):
    path = write(tmp_path, "dump.sql", (
        "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nSAVEPOINT one;\n"
        "CREATE TABLE t (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES t(id));\n"
        "INSERT INTO t VALUES (1, NULL);\nINSERT INTO t (parent_id, id) VALUES (1, 2);\n"
        "RELEASE one;\nROLLBACK;\nCOMMIT;\n"))
    loaded = load_one(path)
    assert loaded.datasets[0].records == [{"id": 1, "parent_id": None}, {"id": 2, "parent_id": 1}]
    relationship = loaded.discovery.entities[0].relationships[0]
    assert (relationship.target, relationship.field) == ("t", "parent_id")


def test_composite_keys_and_tsql(tmp_path):
    path = write(tmp_path, "dump.sql", (
        "CREATE TABLE [dbo].[enrolments] (\n"
        "  [student_id] INT NOT NULL,\n  [course_id] INT NOT NULL,\n  [grade] NVARCHAR(2),\n"
        "  [enrolled] DATETIME2 NOT NULL,\n  [ref] UNIQUEIDENTIFIER,\n"
        "  CONSTRAINT [pk_enrolments] PRIMARY KEY ([student_id], [course_id])\n);\nGO\n"
        "INSERT INTO [dbo].[enrolments] ([student_id], [course_id], [grade], [enrolled]) "
        "VALUES (1, 2, N'A', '2026-01-01T00:00:00');\n"))
    loaded = load_one(path)
    entity = loaded.discovery.entities[0]
    assert entity.name == "enrolments"
    assert entity.key == ["student_id", "course_id"]
    assert entity_fields(loaded, "enrolments") == {
        "student_id": ("integer", True, False),
        "course_id": ("integer", True, False),
        "grade": ("text", False, False),
        "enrolled": ("datetime", True, False),
        "ref": ("uuid", False, False),
    }
    assert loaded.datasets[0].records[0]["grade"] == "A"


@pytest.mark.parametrize("format_name, sql, records", [
    ("mysql", "CREATE TABLE `t` (`id` int, `s` text, `b` blob);\n"
              "INSERT INTO `t` VALUES (1,'it\\'s',_binary 'ab'),(2,NULL,0x41);\n"
              "REPLACE INTO `t` VALUES (3,'r',NULL);\n",
     [{"id": 1, "s": "it's", "b": b"ab"}, {"id": 2, "s": None, "b": b"A"}, {"id": 3, "s": "r", "b": None}]),
    ("sqlite", "CREATE TABLE t(a, b INTEGER, PRIMARY KEY(a)) WITHOUT ROWID;\n"
               "INSERT INTO t VALUES('k', -5), ('m', +3), (X'0102', 1.5e3);\n",
     [{"a": "k", "b": -5}, {"a": "m", "b": 3}, {"a": b"\x01\x02", "b": 1500.0}]),
    ("postgres", "CREATE TABLE public.t (s text, flag boolean, d date);\n"
                 "INSERT INTO public.t VALUES (E'line\\nnext', true, '2020-01-01'::date), ($$dollar$$, false, NULL);\n",
     [{"s": "line\nnext", "flag": True, "d": "2020-01-01"}, {"s": "dollar", "flag": False, "d": None}]),
])
def test_sql_literal_values(tmp_path, format_name, sql, records):
    loaded = load_one(write(tmp_path, "dump.sql", sql), format=format_name)
    assert loaded.datasets[0].records == records


def test_sqlite_column_without_type(tmp_path):
    loaded = load_one(write(tmp_path, "dump.sql", "CREATE TABLE t(a, b INTEGER, PRIMARY KEY(a));\n"))
    assert entity_fields(loaded, "t") == {"a": (None, True, True), "b": ("integer", False, False)}


def make_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.executescript("""
        CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id),
                            title TEXT, cover BLOB);
        CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB);
        CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE);
        INSERT INTO authors VALUES (1, 'Ada'), (2, 'O''Brien');
        INSERT INTO books VALUES (10, 1, 'Notes', X'00FF'), (11, 2, NULL, NULL);
        INSERT INTO d1_migrations (name) VALUES ('0001_init.sql');
    """)
    connection.commit()
    connection.close()


@pytest.mark.parametrize("file_name", ["library.sqlite", "library.db", "library.bin"])
def test_sqlite_database_file(tmp_path, file_name):
    path = tmp_path / file_name
    make_database(path)
    loaded = load_one(path, format="sqlite-database" if file_name.endswith(".bin") else None)
    assert [entity.name for entity in loaded.discovery.entities] == ["authors", "books"]
    assert [dataset.name for dataset in loaded.datasets] == ["authors", "books"]
    assert loaded.datasets[0].records == [{"id": 1, "name": "Ada"}, {"id": 2, "name": "O'Brien"}]
    assert loaded.datasets[1].records[0] == {"id": 10, "author_id": 1, "title": "Notes", "cover": b"\x00\xff"}
    relationship = loaded.discovery.entities[1].relationships[0]
    assert (relationship.target, relationship.field, relationship.optional) == ("authors", "author_id", False)


def test_sqlite_database_as_dataset_path(tmp_path):
    make_database(tmp_path / "library.db")
    path = write(tmp_path, "discovery.json", json.dumps({"datasets": [{"path": "library.db", "format": "csv"}]}))
    error = input_error([str(path)])
    assert error.file == str(tmp_path / "library.db")
    assert "SQLite database" in error.message


# --- the real files --------------------------------------------------------------------------------------

def real_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real input {'/'.join(parts)} is absent in this checkout")
    return path


def test_real_cumulusci_dump():
    loaded = load_one(real_file("cumulusci", "sample.sql"))
    assert [entity.name for entity in loaded.discovery.entities] == ["Account", "Contact", "Opportunity"]
    assert [dataset.name for dataset in loaded.datasets] == ["Account", "Contact", "Opportunity"]
    assert [len(dataset.records) for dataset in loaded.datasets] == [3, 2, 4]
    contact = loaded.datasets[1]
    assert contact.entity == "Contact"
    assert contact.records[0]["Email"] == ""
    assert contact.records[0]["AccountId"] == "2"
    assert entity_fields(loaded, "Contact")["id"] == ("integer", True, True)
    assert entity_fields(loaded, "Contact")["Birthdate"] == ("text", False, False)


@pytest.mark.parametrize("file_name, name, key", [
    ("order.json", "orders", "line_items"),
    ("customer.json", "customers", "addresses"),
])
def test_real_shopify_wrappers(file_name, name, key):
    loaded = load_one(real_file("shopify", file_name))
    dataset = loaded.datasets[0]
    assert dataset.name == name
    assert len(dataset.records) == 1
    assert isinstance(dataset.records[0][key], list)


# --- errors ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file_name, content, place, words", [
    ("bad.json", '[{"a": 1},\n {"a": 2,, }]', "line 2, column 10", "invalid JSON"),
    ("bad.ndjson", '{"a": 1}\n{"a":\n', "line 2, column 6", "invalid JSON"),
    ("list.ndjson", '{"a": 1}\n[1]\n', "line 2", "not an object"),
    ("ragged.csv", "a,b,c\n1,2,3\n4,5\n", "line 3", "row has 2 fields, expected 3"),
    ("quoted.csv", 'a,b\n"1\n2",3\n4,5,6\n', "line 4", "row has 3 fields, expected 2"),
    ("scalars.json", "[1, 2]", "$[0]", "record is a number"),
    ("scalar.json", '"text"', "$", "top-level JSON value is a string"),
    ("empty.json", "[]", None, "no records"),
    ("blank.json", "  \n", None, "file is empty"),
    ("header.csv", "a,b\n", "line 2", "header but no records"),
    ("blank.csv", "", None, "file is empty"),
    ("latin.csv", b"name\nJos\xe9\n", "line 2", "not valid UTF-8"),
])
def test_malformed_files(tmp_path, file_name, content, place, words):
    path = write(tmp_path, file_name, content)
    error = input_error([str(path)])
    assert error.file == str(path)
    assert error.place == place
    assert words in error.message
    assert error.fix


def test_undecodable_bytes_suggest_utf8(tmp_path):
    error = input_error([str(write(tmp_path, "latin.csv", b"name\nJos\xe9\n"))])
    assert "0xe9" in error.message
    assert "UTF-8" in error.fix


@pytest.mark.parametrize("content, words", [
    (b"PK\x03\x04\x14\x00", "ZIP archive"),
    (b"\x1f\x8b\x08\x00", "gzip"),
])
def test_binary_file_named_as_text(tmp_path, content, words):
    path = write(tmp_path, "export.csv", content)
    error = input_error([str(path)])
    assert error.file == str(path)
    assert words in error.message
    assert error.fix


def test_unknown_extension(tmp_path):
    path = write(tmp_path, "deals.xml", "<deals/>")
    error = input_error([str(path)])
    assert error.file == str(path)
    assert "'.xml'" in error.message
    assert "'.csv'" in error.fix
    assert "--format" in error.fix


def test_missing_file(tmp_path):
    error = input_error([str(tmp_path / "absent.json")])
    assert error.file == str(tmp_path / "absent.json")
    assert "not found" in error.message


def test_unknown_format_option(tmp_path):
    error = input_error([str(write(tmp_path, "a.csv", "a\n1\n"))], format="excel")
    assert "'excel'" in error.message
    assert "postgres" in error.fix


def test_no_paths():
    assert "no input" in input_error([]).message


def test_folder_without_supported_files(tmp_path):
    write(tmp_path, "notes.md", "nothing to load")
    error = input_error([str(tmp_path)])
    assert error.file == str(tmp_path)
    assert "contains no supported input file" in error.message


def test_discovery_dataset_path_missing(tmp_path):
    path = write(tmp_path, "discovery.json", json.dumps({
        "datasets": [{"records": [{"a": 1}]}, {"path": "exports/nope.csv"}]}))
    error = input_error([str(path)])
    assert error.file == str(path)
    assert error.place == "$.datasets[1].path"
    assert "'exports/nope.csv'" in error.message


def test_discovery_dataset_without_records_or_path(tmp_path):
    path = write(tmp_path, "discovery.json", json.dumps({"datasets": [{"name": "x"}]}))
    assert input_error([str(path)]).place == "$.datasets[0]"


def test_discovery_inline_records_empty(tmp_path):
    path = write(tmp_path, "discovery.json", json.dumps({"datasets": [{"name": "deals", "records": []}]}))
    error = input_error([str(path)])
    assert error.place == "$.datasets[0].records"
    assert "no records" in error.message


def test_discovery_inline_record_not_object(tmp_path):
    path = write(tmp_path, "discovery.json", json.dumps({"datasets": [{"records": [{"a": 1}, 5]}]}))
    assert input_error([str(path)]).place == "$.datasets[0].records[1]"


@pytest.mark.parametrize("document, place", [
    ({"tables": {"deals": {"columns": [{"type": "text"}]}}}, "$.tables.deals.columns[0].name"),
    ({"entities": [{"name": "a"}, {"name": "b", "fields": [{"name": "x", "required": "often"}]}]},
     "$.entities[1].fields[0].required"),
    ({"entities": [], "tenancy": {"tenants": "many"}}, "$.tenancy.tenants"),
    ({"datasets": [{"records": 5}]}, "$.datasets[0].records"),
    ({"entities": [{"name": "a", "relationships": [{"target": "b", "cardinality": "3:1"}]}]},
     "$.entities[0].relationships[0].cardinality"),
])
def test_discovery_validation_error_json_path(tmp_path, document, place):
    path = write(tmp_path, "discovery.json", json.dumps(document))
    error = input_error([str(path)])
    assert error.file == str(path)
    assert error.place == place
    assert error.message.startswith("invalid discovery document")


def test_sql_parse_error_names_statement(tmp_path):
    path = write(tmp_path, "bad.sql", (
        "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nCREATE TABLE b (x int,\nSELECT FROM WHERE;\n"))
    error = input_error([str(path)])
    assert error.file == str(path)
    assert error.place.startswith("statement 3 (line 4")
    assert "--format" in error.fix


def test_sql_parse_error_with_dialect(tmp_path):
    path = write(tmp_path, "bad.sql", "SELECT 1;\nCREATE TABLE `t` (id int) ENGINE=InnoDB;\nLOCK TABLES `t` WRITE;\n")
    error = input_error([str(path)], format="sqlite")
    assert error.place.startswith("statement 3")
    assert "sqlite" in error.message


def test_sql_insert_into_unknown_table_without_columns(tmp_path):
    path = write(tmp_path, "rows.sql", "INSERT INTO t VALUES (1, 2);\n")
    error = input_error([str(path)])
    assert error.place == "statement 1"
    assert "'t'" in error.message


def test_sql_row_length_mismatch(tmp_path):
    path = write(tmp_path, "rows.sql", "CREATE TABLE t (a int, b int);\nSELECT 1;\nINSERT INTO t VALUES (1);\n")
    error = input_error([str(path)])
    assert error.place == "statement 3"
    assert "1 values for 2 columns" in error.message


def test_unterminated_copy_block(tmp_path):
    path = write(tmp_path, "dump.sql", "CREATE TABLE t (a int);\nCOPY public.t (a) FROM stdin;\n1\n")
    error = input_error([str(path)], format="postgres")
    assert error.place == "line 2"
    assert "\\." in error.message


# --- CSV written by the csv module reads back ------------------------------------------------------------

_CELL_CHARACTERS = list("ab ,;\t|\"'\n12.")


@hypothesis_settings(max_examples=300, deadline=None)
@given(strategies.lists(strategies.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=5,
                        unique=True).flatmap(
    lambda header: strategies.tuples(strategies.just(header), strategies.lists(
        strategies.lists(strategies.text(alphabet=strategies.sampled_from(_CELL_CHARACTERS), max_size=6),
                         min_size=len(header), max_size=len(header)),
        min_size=1, max_size=6))))
def test_csv_round_trip(table):
    header, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
        records = load_one(path).datasets[0].records
    assert records == [dict(zip(header, row)) for row in rows]
