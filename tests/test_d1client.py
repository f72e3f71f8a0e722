"""D1 REST client against the fake D1 API on 127.0.0.1, with real SQLite files behind it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fake_d1_api import TOKEN, api, cli_runner, client, sleeps, token_never_shown  # noqa: F401 - fixtures

from dmodel.d1client import (
    ACCOUNT_VARIABLE,
    TOKEN_VARIABLE,
    Credentials,
    D1ApiError,
    D1Client,
    list_migrations,
)
from dmodel.errors import InputError


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


MIGRATIONS = {
    "0001_customers.sql": "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                          "INSERT INTO customers (name) VALUES ('Ada; Lovelace');\n",
    "0002_orders.sql": "CREATE TABLE orders (\n"
                       "  id INTEGER PRIMARY KEY,\n"
                       "  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE\n"
                       ");\n"
                       "CREATE INDEX idx_orders__customer_id ON orders (customer_id);\n",
    "0010_audit.sql": "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, action TEXT NOT NULL);\n"
                      "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
                      "BEGIN\n  SELECT RAISE(ABORT, 'audit_log is append-only');\nEND;\n",
}


def test_query_returns_rows_per_statement(api, client):
    database_id = api.add_database("alpha")
    results = client.query(database_id, "CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x;y'); SELECT a FROM t;")
    assert [result["success"] for result in results] == [True, True, True]
    assert results[1]["meta"]["changes"] == 1
    assert results[2]["results"] == [{"a": "x;y"}]


def test_query_binds_params(api, client):
    database_id = api.add_database("alpha")
    client.query(database_id, "CREATE TABLE t (a TEXT, b INTEGER)")
    client.query(database_id, "INSERT INTO t VALUES (?, ?)", ["one", 1])
    [result] = client.query(database_id, "SELECT a FROM t WHERE b = ?", [1])
    assert result["results"] == [{"a": "one"}]


def test_raw_returns_columns_and_rows(api, client):
    database_id = api.add_database("alpha")
    [result] = client.raw(database_id, "SELECT 1 AS one, 'two' AS two")
    assert result["results"] == {"columns": ["one", "two"], "rows": [[1, "two"]]}


def test_request_path_and_header(api, client):
    database_id = api.add_database("alpha")
    client.query(database_id, "SELECT 1")
    [request] = api.requests
    assert request["path"] == f"/client/v4/accounts/{api.account_id}/d1/database/{database_id}/query"
    assert request["status"] == 200


def test_list_databases_follows_pages(api, client):
    for index in range(25):
        api.add_database(f"tenant-{index:02d}")
    api.add_database("control")
    databases = client.list_databases(name_prefix="tenant-", per_page=10)
    assert [database["name"] for database in databases] == [f"tenant-{index:02d}" for index in range(25)]
    assert [request["query"] for request in api.requests] == [
        "page=1&per_page=10&name=tenant-", "page=2&per_page=10&name=tenant-", "page=3&per_page=10&name=tenant-"]


def test_list_databases_prefix_not_substring(api, client):
    api.add_database("acme-prod")
    api.add_database("old-acme-prod")
    assert [database["name"] for database in client.list_databases(name_prefix="acme-")] == ["acme-prod"]


def test_429_honours_retry_after(api, client, sleeps):
    database_id = api.add_database("alpha")
    api.fail("429", retry_after="3")
    [result] = client.query(database_id, "SELECT 42 AS answer")
    assert result["results"] == [{"answer": 42}]
    assert sleeps == [3.0]
    assert [request["status"] for request in api.requests] == [429, 200]


def test_transient_500_is_retried_with_backoff(api, client, sleeps):
    database_id = api.add_database("alpha")
    api.fail("500", times=2)
    [result] = client.query(database_id, "SELECT 1 AS one")
    assert result["results"] == [{"one": 1}]
    assert sleeps == [0.5, 1.0]


def test_retries_stop_after_max(api, sleeps):
    database_id = api.add_database("alpha")
    api.fail("500", times=10)
    with D1Client(Credentials(api.account_id, TOKEN), base_url=api.base_url, sleep=sleeps.append,
                  max_retries=3) as client:
        with pytest.raises(D1ApiError) as raised:
            client.query(database_id, "SELECT 1")
    assert raised.value.status == 500
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(api.requests) == 4


def test_sql_error_7500_is_not_retried(api, client, sleeps):
    database_id = api.add_database("alpha")
    client.query(database_id, "CREATE TABLE t (a)")
    with pytest.raises(D1ApiError) as raised:
        client.query(database_id, "INSERT INTO t VALUES (1); INSERT INTO missing VALUES (1);")
    assert raised.value.code == 7500
    assert raised.value.status == 400
    assert "no such table: missing" in str(raised.value)
    assert database_id in str(raised.value)
    assert sleeps == []
    assert api.connect(database_id).execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_wrong_token_is_not_retried(api, sleeps):
    database_id = api.add_database("alpha")
    with D1Client(Credentials(api.account_id, "wrong-" + TOKEN), base_url=api.base_url,
                  sleep=sleeps.append) as client:
        with pytest.raises(D1ApiError) as raised:
            client.query(database_id, "SELECT 1")
    assert raised.value.status == 401
    assert raised.value.code == 10000
    assert TOKEN not in str(raised.value)
    assert sleeps == []


def test_connection_error_is_retried(api, client, sleeps):
    database_id = api.add_database("alpha")
    api.fail("drop")
    [result] = client.query(database_id, "SELECT 1 AS one")
    assert result["results"] == [{"one": 1}]
    assert sleeps == [0.5]
    assert [request["status"] for request in api.requests] == ["dropped", 200]


def test_timeout_is_retried(api, sleeps):
    database_id = api.add_database("alpha")
    api.fail("slow", delay_seconds=1.0)
    with D1Client(Credentials(api.account_id, TOKEN), base_url=api.base_url, sleep=sleeps.append,
                  timeout=0.2) as client:
        [result] = client.query(database_id, "SELECT 1 AS one")
    assert result["results"] == [{"one": 1}]
    assert sleeps == [0.5]


def test_unreachable_server_raises_plain_error(sleeps):
    def reject_connection(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with D1Client(Credentials("acct", TOKEN), transport=httpx.MockTransport(reject_connection), sleep=sleeps.append,
                  max_retries=2) as client:
        with pytest.raises(D1ApiError) as raised:
            client.query("db-1", "SELECT 1")
    assert "request failed after 3 attempts: ConnectError" in str(raised.value)
    assert raised.value.status is None
    assert TOKEN not in str(raised.value)
    assert sleeps == [0.5, 1.0]


def test_mock_transport_sees_bearer_token():
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": [{"results": [], "success": True, "meta": {}}],
                                         "success": True, "errors": [], "messages": []})

    with D1Client(Credentials("acct", TOKEN), base_url="https://d1.invalid/client/v4",
                  transport=httpx.MockTransport(respond)) as client:
        client.query("db-1", "SELECT 1")
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert str(seen[0].url) == "https://d1.invalid/client/v4/accounts/acct/d1/database/db-1/query"


def test_credentials_repr_hides_token():
    credentials = Credentials("acct", TOKEN)
    assert TOKEN not in repr(credentials)
    assert TOKEN not in str(credentials)
    client = D1Client(credentials, transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    assert TOKEN not in repr(client)
    client.close()


def test_credentials_from_env():
    credentials = Credentials.from_env({ACCOUNT_VARIABLE: "acct", TOKEN_VARIABLE: f" {TOKEN}\n"})
    assert credentials.account_id == "acct"
    assert credentials.token == TOKEN


def test_credentials_missing_names_variable():
    with pytest.raises(InputError) as raised:
        Credentials.from_env({ACCOUNT_VARIABLE: "acct"})
    assert TOKEN_VARIABLE in str(raised.value)
    assert raised.value.fix


def test_executor_returns_last_statement_rows(api, client):
    database_id = api.add_database("alpha")
    execute = client.executor(database_id)
    execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    columns = execute("PRAGMA table_xinfo(t)")
    assert [column["name"] for column in columns] == ["id", "name"]
    assert columns[1]["notnull"] == 1


def test_fake_rejects_pragma_functions(api, client):
    database_id = api.add_database("alpha")
    with pytest.raises(D1ApiError, match="not authorized"):
        client.query(database_id, "SELECT name FROM pragma_table_info('sqlite_master')")


def test_remote_introspection(api, client):
    introspect = pytest.importorskip("dmodel.introspect").introspect
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    client.apply_migrations(database_id, list_migrations(folder))

    schema = introspect(client.executor(database_id))
    assert {"customers", "orders", "audit_log"} <= {name.lower() for name in schema.tables}
    assert "d1_migrations" not in {name.lower() for name in schema.tables}
    assert all("pragma_" not in request["sql"] for request in api.sql_requests())


def test_list_migrations_uses_wrangler_order(tmp_path):
    folder = write_migrations(tmp_path / "migrations", {
        "0010_c.sql": "SELECT 1;\n", "0002_b.sql": "SELECT 1;\n", "0001_a.sql": "SELECT 1;\n",
        "0004_x.down.sql": "SELECT 1;\n", "notes.md": "", "seed.SQL": "SELECT 1;\n"})
    (folder / "rollback").mkdir()
    (folder / "rollback" / "0001_a.sql").write_text("SELECT 1;\n")
    assert [migration.name for migration in list_migrations(folder)] == [
        "0001_a.sql", "0002_b.sql", "0004_x.down.sql", "0010_c.sql"]


def test_list_migrations_missing_folder(tmp_path):
    with pytest.raises(InputError, match="migrations folder not found"):
        list_migrations(tmp_path / "nope")


def test_apply_migrations_records_ledger(api, client):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    outcome = client.apply_migrations(database_id, list_migrations(folder))

    assert outcome.applied_before == []
    assert outcome.applied_now == list(MIGRATIONS)
    assert outcome.pending == []
    connection = api.connect(database_id)
    assert connection.execute("SELECT name FROM d1_migrations ORDER BY id").fetchall() == [
        (name,) for name in MIGRATIONS]
    assert connection.execute("SELECT name FROM customers").fetchall() == [("Ada; Lovelace",)]
    ledger_columns = connection.execute("SELECT name, type, pk FROM pragma_table_info('d1_migrations')").fetchall()
    assert ledger_columns == [("id", "INTEGER", 1), ("name", "TEXT", 0), ("applied_at", "TIMESTAMP", 0)]


def test_apply_sends_file_and_record_together(api, client):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    client.apply_migrations(database_id, list_migrations(folder))
    [request] = api.sql_requests(database_id, "CREATE TABLE orders")
    assert request["sql"].endswith("INSERT INTO d1_migrations (name) VALUES ('0002_orders.sql');\n")


def test_apply_again_sends_nothing(api, client):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    client.apply_migrations(database_id, list_migrations(folder))
    before = len(api.sql_requests(database_id, "INSERT INTO d1_migrations"))

    outcome = client.apply_migrations(database_id, list_migrations(folder))
    assert outcome.applied_before == list(MIGRATIONS)
    assert outcome.applied_now == []
    assert len(api.sql_requests(database_id, "INSERT INTO d1_migrations")) == before


def test_apply_dry_run_changes_nothing(api, client):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    outcome = client.apply_migrations(database_id, list_migrations(folder), dry_run=True)
    assert outcome.pending == list(MIGRATIONS)
    assert outcome.applied_now == []
    tables = api.connect(database_id).execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []


def test_apply_stops_at_failing_migration(api, client):
    database_id = api.add_database("alpha")
    files = dict(MIGRATIONS)
    files["0002_orders.sql"] = "CREATE TABLE orders (id INTEGER PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n"
    folder = write_migrations(api.root.parent / "migrations", files)
    with pytest.raises(D1ApiError) as raised:
        client.apply_migrations(database_id, list_migrations(folder))
    assert raised.value.code == 7500
    connection = api.connect(database_id)
    assert connection.execute("SELECT name FROM d1_migrations").fetchall() == [("0001_customers.sql",)]
    assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'orders'").fetchone() == (0,)


def test_lost_response_applies_once(api, client, sleeps):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    api.fail("drop_after", sql_contains="CREATE TABLE orders")
    outcome = client.apply_migrations(database_id, list_migrations(folder))

    assert outcome.applied_now == list(MIGRATIONS)
    assert sleeps == [0.5]
    connection = api.connect(database_id)
    assert connection.execute("SELECT count(*) FROM d1_migrations WHERE name = '0002_orders.sql'").fetchone() == (1,)
    assert [request["status"] for request in api.sql_requests(database_id, "CREATE TABLE orders")] == [
        "committed, dropped", 400]


@pytest.fixture
def run_drift(monkeypatch, api):
    """Run the real ``dmodel drift`` against the fake API."""
    return cli_runner(monkeypatch, api, "drift", "drift")


def test_drift_d1_clean(api, client, run_drift, capsys):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    client.apply_migrations(database_id, list_migrations(folder))
    assert run_drift("--migrations", str(folder), "--d1", database_id, "--json") == 0
    assert json.loads(capsys.readouterr().out)["database"] == f"D1 database {database_id}"
    assert all("pragma_" not in request["sql"] for request in api.sql_requests())


def test_drift_d1_finds_changes(api, client, run_drift, capsys):
    database_id = api.add_database("alpha")
    folder = write_migrations(api.root.parent / "migrations", MIGRATIONS)
    client.apply_migrations(database_id, list_migrations(folder)[:2])
    client.query(database_id, "ALTER TABLE customers ADD COLUMN nickname TEXT")
    assert run_drift("--migrations", str(folder), "--d1", database_id) == 1
    report = capsys.readouterr().err
    assert "nickname" in report
    assert "0010_audit.sql" in report
