"""Standard models: the CRM and platform databases, generated through the normal pipeline and applied to SQLite."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import run_cli

from dmodel.apply import apply_sql, connect
from dmodel.d1rules import lint_sql
from dmodel.emit.sql import render_schema
from dmodel.errors import InputError
from dmodel.generate import generate
from dmodel.standard import STANDARD_NAMES, load_standard, standard_version

# Column names that could hold a token in the clear when their type is TEXT.
PLAINTEXT_WORDS = ("token", "secret", "plaintext", "plain", "value", "password", "raw", "cleartext", "credential")
# A valid row of each CRM table that holds client records, apart from custom_fields.
CRM_CLIENT_ROWS = {
    "initiatives": {"name": "Pipeline reporting"},
    "customers": {"name": "Riverbend Hospital"},
    "opportunities": {"name": "Refit"},
    "engagements": {"customer_id": 1, "type": "call", "occurred_at": "2026-04-13T10:00:00Z"},
    "portfolio_resources": {"type": "worker", "name": "crm-sync"},
}


def schema_database(name: str) -> sqlite3.Connection:
    connection = connect(":memory:")
    apply_sql(connection, render_schema(load_standard(name)))
    return connection


def columns_of(connection: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in connection.execute(f"PRAGMA table_xinfo({table})")}


def insert_token(connection: sqlite3.Connection, **overrides) -> None:
    row = {"name": "deploy-bot", "key_id": "k-2026-01", "nonce": bytes(12), "ciphertext": bytes(48),
           "lookup_hash": hashlib.sha256(b"cf-example-token").hexdigest(), "last_four": "oken",
           "scopes": '["d1:read"]'}
    row.update(overrides)
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    connection.execute(f"INSERT INTO service_tokens ({names}) VALUES ({marks})", list(row.values()))


@pytest.mark.parametrize("name", STANDARD_NAMES)
def test_standard_has_version(name):
    model = load_standard(name)
    assert model.client["standard"] == name
    assert re.fullmatch(r"\d+\.\d+\.\d+", standard_version(model))


def test_unknown_standard_is_input_error():
    with pytest.raises(InputError, match="unknown standard model 'erp'"):
        load_standard("erp")


@pytest.mark.parametrize("name", STANDARD_NAMES)
def test_generated_sql_is_d1_safe(name, tmp_path):
    output = generate(load_standard(name), tmp_path)
    for path, text in output.files.items():
        if path.suffix == ".sql":
            assert lint_sql(text, str(path)) == [], path


@pytest.mark.parametrize("name", STANDARD_NAMES)
def test_migration_and_seed_apply(name, tmp_path):
    output = generate(load_standard(name), tmp_path)
    connection = connect(tmp_path / "standard.db")
    apply_sql(connection, output.files[output.migration])
    apply_sql(connection, output.files[tmp_path / "seed.sql"])
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    apply_sql(connection, output.files[output.rollback])
    assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


@pytest.mark.parametrize("name", STANDARD_NAMES)
def test_every_foreign_key_is_indexed(name):
    for entity in load_standard(name).entities:
        leading = {index.columns[0] for index in entity.indexes}
        leading.add(entity.primary_key[0])
        for foreign_key in entity.foreign_keys:
            assert foreign_key.columns[0] in leading, f"{entity.name}.{foreign_key.columns[0]} has no index"


def test_crm_tables():
    names = [entity.name for entity in load_standard("crm").entities]
    assert names == ["initiatives", "customers", "customer_initiatives", "pipeline_stages", "opportunities",
                     "engagements", "portfolio_resources"]


def insert_client_row(table: str, custom_fields: str | None) -> sqlite3.Connection:
    connection = schema_database("crm")
    connection.execute("INSERT INTO customers (id, name) VALUES (1, 'Acme')")
    row = dict(CRM_CLIENT_ROWS[table])
    if custom_fields is not None:
        row["custom_fields"] = custom_fields
    connection.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                       list(row.values()))
    return connection


@pytest.mark.parametrize("table", sorted(CRM_CLIENT_ROWS))
def test_crm_custom_fields_defaults_to_object(table):
    connection = insert_client_row(table, None)
    assert connection.execute(f"SELECT custom_fields FROM {table} ORDER BY rowid DESC").fetchone() == ("{}",)


@pytest.mark.parametrize("table", sorted(CRM_CLIENT_ROWS))
def test_crm_custom_fields_must_be_json(table):
    insert_client_row(table, '{"Next step": "call back"}')
    for bad in ("not json", "[1, 2]"):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            insert_client_row(table, bad)


def test_crm_seed_holds_pipeline_stages():
    connection = schema_database("crm")
    output = generate(load_standard("crm"), Path("out"))
    apply_sql(connection, output.files[Path("out/seed.sql")])
    rows = connection.execute("SELECT code, position, probability, is_closed, is_won FROM pipeline_stages "
                              "ORDER BY position").fetchall()
    assert rows[0] == ("prospecting", 1, 10, 0, 0)
    assert rows[-2] == ("closed_won", 6, 100, 1, 1)
    assert rows[-1] == ("closed_lost", 7, 0, 1, 0)


def test_customer_initiatives_is_junction():
    connection = schema_database("crm")
    connection.execute("INSERT INTO customers (id, name) VALUES (1, 'Riverbend Hospital')")
    connection.execute("INSERT INTO initiatives (id, name) VALUES (1, 'Pipeline reporting'), (2, 'Shop history')")
    connection.execute("INSERT INTO customer_initiatives (customer_id, initiative_id) VALUES (1, 1), (1, 2)")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE|PRIMARY"):
        connection.execute("INSERT INTO customer_initiatives (customer_id, initiative_id) VALUES (1, 1)")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        connection.execute("INSERT INTO customer_initiatives (customer_id, initiative_id) VALUES (1, 99)")
    connection.execute("DELETE FROM customers WHERE id = 1")
    assert connection.execute("SELECT count(*) FROM customer_initiatives").fetchone()[0] == 0


@pytest.mark.parametrize("sql", [
    "INSERT INTO opportunities (name, status) VALUES ('Refit', 'pending')",
    "INSERT INTO opportunities (name, amount) VALUES ('Refit', -100)",
    "INSERT INTO opportunities (name, currency) VALUES ('Refit', 'usd')",
    "INSERT INTO opportunities (name, expected_close_date) VALUES ('Refit', '13/04/2026')",
    "INSERT INTO opportunities (name, status, actual_close_date) VALUES ('Refit', 'open', '2026-04-13')",
    "INSERT INTO portfolio_resources (type, name) VALUES ('mainframe', 'big-iron')",
    "INSERT INTO engagements (customer_id, type, occurred_at) VALUES (1, 'call', 'yesterday')",
])
def test_crm_checks_reject_bad_rows(sql):
    connection = schema_database("crm")
    connection.execute("INSERT INTO customers (id, name) VALUES (1, 'Riverbend Hospital')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        connection.execute(sql)


def test_crm_accepts_closed_opportunity():
    connection = schema_database("crm")
    connection.execute("INSERT INTO opportunities (name, status, amount, currency, expected_close_date, "
                       "actual_close_date) VALUES ('Refit', 'won', 510300, 'USD', '2026-07-20', '2026-07-18')")
    assert connection.execute("SELECT amount FROM opportunities").fetchone() == (510300,)


def test_service_tokens_no_plaintext_column():
    connection = schema_database("platform")
    for column, declared in columns_of(connection, "service_tokens").items():
        words = column.split("_")
        if declared == "TEXT":
            assert not any(word in PLAINTEXT_WORDS for word in words), f"TEXT column {column} could hold a token"
    assert columns_of(connection, "service_tokens")["ciphertext"] == "BLOB"


@pytest.mark.parametrize("table", ["service_tokens", "audit_log", "validation_runs"])
def test_platform_tables_have_no_secret_text(table):
    connection = schema_database("platform")
    for column, declared in columns_of(connection, table).items():
        if declared == "TEXT":
            assert not {"token", "secret", "plaintext", "password"} & set(column.split("_")), f"{table}.{column}"


@pytest.mark.parametrize("overrides", [
    {"last_four": "cf-example-token"},
    {"lookup_hash": "cf-example-token"},
    {"lookup_hash": "G" * 64},
    {"nonce": bytes(16)},
    {"ciphertext": "cf-example-token"},
    {"scopes": "d1:read"},
])
def test_service_tokens_checks_bound_values(overrides):
    connection = schema_database("platform")
    with pytest.raises(sqlite3.IntegrityError):
        insert_token(connection, **overrides)


def test_service_token_row_accepted():
    connection = schema_database("platform")
    insert_token(connection)
    row = connection.execute("SELECT last_four, length(lookup_hash), typeof(ciphertext) FROM service_tokens")
    assert row.fetchone() == ("oken", 64, "blob")


def test_service_tokens_checks_in_model():
    entity = load_standard("platform").entity("service_tokens")
    assert entity.column("last_four").check == "length(last_four) = 4"
    assert entity.column("lookup_hash").check.startswith("length(lookup_hash) = 64")


def test_validation_runs_status_and_finish():
    connection = schema_database("platform")
    connection.execute("INSERT INTO validation_runs (validator, target, status, findings, score, started_at, "
                       "finished_at) VALUES ('d1-lint', 'migrations/0001_initial_schema.sql', 'passed', '[]', "
                       "1.0, '2026-12-04T10:00:00Z', '2026-12-04T10:00:02Z')")
    for sql in ["INSERT INTO validation_runs (validator, target, status) VALUES ('drift', 'db', 'done')",
                "INSERT INTO validation_runs (validator, target, status) VALUES ('drift', 'db', 'failed')",
                "INSERT INTO validation_runs (validator, target, findings) VALUES ('drift', 'db', '{}')",
                "INSERT INTO validation_runs (validator, target, score) VALUES ('drift', 'db', 1.5)"]:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute(sql)


def test_standard_command_writes_files(tmp_path):
    result = run_cli("standard", "crm", "-o", tmp_path, "--json")
    assert result.status == 0, result.stderr
    summary = result.json()
    assert summary["version"] == standard_version(load_standard("crm"))
    assert (tmp_path / "model.json").read_text(encoding="utf-8") == load_standard("crm").to_json()
    assert (tmp_path / "migrations" / "0001_initial_schema.sql").is_file()
    assert "erDiagram" in (tmp_path / "erd.mmd").read_text(encoding="utf-8")


def test_standard_command_check_is_clean(tmp_path):
    assert run_cli("standard", "platform", "-o", tmp_path).status == 0
    assert run_cli("standard", "platform", "-o", tmp_path, "--check").status == 0
    (tmp_path / "schema.sql").write_text("-- edited\n", encoding="utf-8")
    assert run_cli("standard", "platform", "-o", tmp_path, "--check").status == 1


def test_standard_command_unknown_name(tmp_path):
    result = run_cli("standard", "erp", "-o", tmp_path)
    assert result.status == 2
    assert "invalid choice" in result.stderr
