"""Drift between a migrations folder and a live database, through ``dmodel drift``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from fake_d1_api import api, cli_runner, client, sleeps, token_never_shown  # noqa: F401 - fixtures

from dmodel import ledger
from dmodel.d1client import list_migrations
from dmodel.drift import detect_drift, find_database
from dmodel.errors import InputError
from dmodel.introspect import apply_script, migration_files

MIGRATIONS = {
    "0001_initial_schema.sql": """
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    total INTEGER NOT NULL CHECK (total >= 0)
) STRICT;
CREATE INDEX IF NOT EXISTS idx_orders__customer_id ON orders (customer_id);
""",
    "0002_add_customers_email.sql": "ALTER TABLE customers ADD COLUMN email TEXT;\n",
}
LEDGER_DDL = ("CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
              "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)")


def make_project(tmp_path: Path, applied: list[str] | None = None) -> tuple[Path, Path]:
    """Write the migrations with dmodel.sum, and a database that applied them the way wrangler does."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for name, sql in MIGRATIONS.items():
        (migrations / name).write_text(sql)
        (migrations / ledger.SUM_FILE).write_text(ledger.with_migration(migrations, name, sql))
    database = tmp_path / "state" / "v3" / "d1" / "miniflare-D1DatabaseObject" / "abc123.sqlite"
    database.parent.mkdir(parents=True)
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(LEDGER_DDL)
    for name in MIGRATIONS if applied is None else applied:
        apply_script(connection, MIGRATIONS[name] + f"INSERT INTO d1_migrations (name) VALUES ('{name}');")
    apply_script(connection, "INSERT INTO customers (id, name) VALUES (1, 'ada');"
                             "INSERT INTO orders (id, customer_id, total) VALUES (1, 1, 5);")
    connection.close()
    return migrations, database


def alter(database: Path, sql: str) -> None:
    connection = sqlite3.connect(database, isolation_level=None)
    apply_script(connection, sql)
    connection.close()


def test_clean_database_reports_nothing(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    result = run_cli("drift", "--migrations", migrations, "--db", database, "--json")
    assert result.status == 0, result.stderr
    report = result.json()
    assert report["drift"] is False
    assert report["schema"] == []
    assert report["migrations"] == {"pending": [], "unknown": [], "edited": [], "d1_migrations_found": True}
    assert "no drift" in result.stderr


def test_manual_alter_is_reported(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    alter(database, "ALTER TABLE customers ADD COLUMN phone TEXT; DROP INDEX idx_orders__customer_id;"
                    "CREATE TRIGGER trg_orders__guard BEFORE DELETE ON orders BEGIN SELECT RAISE(ABORT, 'no'); END;")
    result = run_cli("drift", "--migrations", migrations, "--db", database, "--json")
    assert result.status == 1
    found = {(entry["kind"], entry["name"], entry["difference"]) for entry in result.json()["schema"]}
    assert ("column", "customers.phone", "only in the database") in found
    assert ("index", "idx_orders__customer_id", "missing from the database") in found
    assert ("trigger", "trg_orders__guard", "only in the database") in found
    assert "customers.phone" in result.stderr


def test_changed_constraint_is_reported(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    alter(database, """
CREATE TABLE orders_new (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id),
    total INTEGER NOT NULL) STRICT;
INSERT INTO orders_new SELECT id, customer_id, total FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX idx_orders__customer_id ON orders (customer_id);
""")
    report = run_cli("drift", "--migrations", migrations, "--db", database, "--json").json()
    codes = {entry["code"] for entry in report["schema"]}
    assert "RB209" in codes
    assert "RB206" in codes
    assert {entry["kind"] for entry in report["schema"]} == {"constraint"}


def test_edited_applied_migration_is_reported(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    path = migrations / "0002_add_customers_email.sql"
    path.write_text(path.read_text() + "-- edited by hand\n")
    result = run_cli("drift", "--migrations", migrations, "--db", database, "--json")
    assert result.status == 1
    assert result.json()["migrations"]["edited"] == ["0002_add_customers_email.sql"]
    assert result.json()["schema"] == []


def test_pending_migration_is_reported(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path, applied=["0001_initial_schema.sql"])
    report = run_cli("drift", "--migrations", migrations, "--db", database, "--json").json()
    assert report["migrations"]["pending"] == ["0002_add_customers_email.sql"]
    assert [entry["name"] for entry in report["schema"]] == ["customers.email"]


def test_missing_migration_is_reported(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    (migrations / "0002_add_customers_email.sql").unlink()
    result = run_cli("drift", "--migrations", migrations, "--db", database, "--json")
    assert result.status == 1
    report = result.json()
    assert report["migrations"]["unknown"] == ["0002_add_customers_email.sql"]
    assert report["sum"]["missing"] == ["0002_add_customers_email.sql"]
    assert "applied to the database but not in the folder" in result.stderr


def test_unrecorded_migration_is_reported(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    (migrations / "0003_add_notes.sql").write_text("CREATE TABLE notes (id INTEGER PRIMARY KEY) STRICT;\n")
    report = run_cli("drift", "--migrations", migrations, "--db", database, "--json").json()
    assert report["sum"]["unrecorded"] == ["0003_add_notes.sql"]
    assert report["migrations"]["pending"] == ["0003_add_notes.sql"]


def test_state_folder_finds_single_file(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    sqlite3.connect(database.parent / "metadata.sqlite").close()
    result = run_cli("drift", "--migrations", migrations, "--db", tmp_path / "state")
    assert result.status == 0, result.stderr
    assert find_database(tmp_path / "state") == database


def test_state_folder_with_two_files_rejected(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    (database.parent / "other.sqlite").write_bytes(database.read_bytes())
    result = run_cli("drift", "--migrations", migrations, "--db", tmp_path / "state", "--json")
    assert result.status == 2
    assert "2 .sqlite files" in result.json()["error"]["message"]


@pytest.mark.parametrize("make_bad", [
    lambda root: root / "missing.sqlite",
    lambda root: (root / "junk.sqlite").write_text("not a database") and root / "junk.sqlite",
])
def test_bad_database_exits_2(tmp_path: Path, make_bad) -> None:
    migrations, _ = make_project(tmp_path)
    bad = make_bad(tmp_path)
    result = run_cli("drift", "--migrations", migrations, "--db", bad)
    assert result.status == 2
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr


def test_broken_migration_exits_2(tmp_path: Path) -> None:
    migrations, database = make_project(tmp_path)
    (migrations / "0003_broken.sql").write_text("CREATE TABLE broken (id INTEGER PRIMARY KEY\n")
    result = run_cli("drift", "--migrations", migrations, "--db", database)
    assert result.status == 2
    assert "0003_broken.sql" in result.stderr


def test_ledger_rejects_malformed_line(tmp_path: Path) -> None:
    migrations, _ = make_project(tmp_path)
    (migrations / ledger.SUM_FILE).write_text("0001_initial_schema.sql deadbeef\n")
    with pytest.raises(InputError, match="line 1"):
        ledger.check(migrations)


def test_ledger_ignores_crlf_checkout(tmp_path: Path) -> None:
    migrations, _ = make_project(tmp_path)
    for path in migration_files(migrations):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert ledger.check(migrations).clean


def test_remote_database_through_rest(monkeypatch, tmp_path: Path, api, client) -> None:
    migrations, _ = make_project(tmp_path)
    database_id = api.add_database("crm")
    client.apply_migrations(database_id, list_migrations(migrations))
    run = cli_runner(monkeypatch, api, "drift", "drift")
    assert run("--migrations", str(migrations), "--d1", database_id) == 0

    client.query(database_id, "CREATE INDEX idx_customers__name ON customers (name);")
    report = detect_drift(migrations, client.executor(database_id))
    assert [(entry.kind, entry.name) for entry in report.differences] == [("index", "idx_customers__name")]
    assert report.pending == []
    assert run("--migrations", str(migrations), "--d1", database_id) == 1
    assert api.sql_requests(contains="pragma_") == []


def test_first_sum_records_existing_files(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_initial_schema.sql").write_text(MIGRATIONS["0001_initial_schema.sql"])
    text = ledger.with_migration(migrations, "0002_add_customers_email.sql",
                                 MIGRATIONS["0002_add_customers_email.sql"])
    (migrations / "0002_add_customers_email.sql").write_text(MIGRATIONS["0002_add_customers_email.sql"])
    (migrations / ledger.SUM_FILE).write_text(text)
    assert sorted(ledger.read(migrations)) == ["0001_initial_schema.sql", "0002_add_customers_email.sql"]
    assert ledger.check(migrations).clean


def test_database_without_ledger_says_so(tmp_path: Path) -> None:
    migrations, _ = make_project(tmp_path)
    plain = tmp_path / "plain.sqlite"
    connection = sqlite3.connect(plain, isolation_level=None)
    for path in migration_files(migrations):
        apply_script(connection, path.read_text())
    connection.close()
    result = run_cli("drift", "--migrations", migrations, "--db", plain)
    assert result.status == 0, result.stderr
    assert "no d1_migrations table" in result.stderr
