"""Fan-out of one migrations folder to many databases, against the fake D1 API on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from fake_d1_api import TOKEN, api, cli_runner, client, sleeps, token_never_shown  # noqa: F401 - fixtures

from dmodel.d1client import TOKEN_VARIABLE, list_migrations
from dmodel.errors import InputError
from dmodel.fanout import Target, fan_out, resolve_targets

MIGRATIONS = {
    "0001_customers.sql": "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                          "INSERT INTO customers (name) VALUES ('first; customer');\n",
    "0002_orders.sql": "CREATE TABLE orders (\n"
                       "  id INTEGER PRIMARY KEY,\n"
                       "  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE\n"
                       ");\n"
                       "CREATE INDEX idx_orders__customer_id ON orders (customer_id);\n"
                       "INSERT INTO orders (customer_id) VALUES (1);\n",
    "0003_customer_email.sql": "ALTER TABLE customers ADD COLUMN email TEXT;\n",
}


@pytest.fixture
def migrations_dir(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, sql in MIGRATIONS.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def ledger(api, database_id) -> list[str]:
    rows = api.connect(database_id).execute("SELECT name FROM d1_migrations ORDER BY id").fetchall()
    return [name for (name,) in rows]


def successful_records(api, database_id, name) -> int:
    """Count the requests that recorded ``name`` in the ledger and committed."""
    record = f"INSERT INTO d1_migrations (name) VALUES ('{name}')"
    return sum(1 for request in api.sql_requests(database_id, record) if request["status"] in (200, "committed, dropped"))


def test_fanout_applies_to_every_database(api, client, migrations_dir):
    ids = [api.add_database(f"tenant-{index}") for index in range(3)]
    report = fan_out(client, list_migrations(migrations_dir), [Target(database_id) for database_id in ids],
                     concurrency=2)
    assert report.ok
    for database_id, state in zip(ids, report.states):
        assert state.database_id == database_id
        assert state.applied_now == list(MIGRATIONS)
        assert state.pending == []
        assert ledger(api, database_id) == list(MIGRATIONS)


def test_fanout_by_prefix_skips_others(api, client, migrations_dir):
    tenants = [api.add_database(f"tenant-{index}") for index in range(2)]
    control = api.add_database("control")
    targets = resolve_targets(client, name_prefix="tenant-")
    assert [target.database_id for target in targets] == tenants
    assert [target.name for target in targets] == ["tenant-0", "tenant-1"]

    fan_out(client, list_migrations(migrations_dir), targets)
    assert ledger(api, tenants[1]) == list(MIGRATIONS)
    tables = api.connect(control).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == []


def test_resolve_targets_deduplicates(api, client):
    first = api.add_database("tenant-a")
    targets = resolve_targets(client, [first, first], name_prefix="tenant-")
    assert targets == [Target(first, "tenant-a")]


def test_resolve_targets_needs_a_selection(client):
    with pytest.raises(InputError, match="no databases selected"):
        resolve_targets(client)


def test_resolve_targets_unknown_prefix(api, client):
    api.add_database("tenant-a")
    with pytest.raises(InputError, match="no database name starts with 'acme-'"):
        resolve_targets(client, name_prefix="acme-")


def test_dry_run_shows_pending_and_changes_nothing(api, client, migrations_dir):
    fresh = api.add_database("fresh")
    partial = api.add_database("partial")
    fan_out(client, list_migrations(migrations_dir)[:1], [Target(partial)])

    report = fan_out(client, list_migrations(migrations_dir), [Target(fresh), Target(partial)], dry_run=True)
    assert [state.pending for state in report.states] == [list(MIGRATIONS), list(MIGRATIONS)[1:]]
    assert [state.applied_before for state in report.states] == [[], ["0001_customers.sql"]]
    assert ledger(api, partial) == ["0001_customers.sql"]
    assert api.connect(fresh).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    assert "pending (would apply)" in report.table()


def test_concurrency_is_bounded(api, client, migrations_dir):
    ids = [api.add_database(f"tenant-{index}") for index in range(6)]
    for database_id in ids:
        api.fail("slow", database_id=database_id, delay_seconds=0.2)
    report = fan_out(client, list_migrations(migrations_dir), [Target(database_id) for database_id in ids],
                     concurrency=2)
    assert report.ok
    assert api.max_in_flight == 2


def test_dropped_connection_then_resume_applies_once(api, client, migrations_dir, sleeps):
    ids = [api.add_database(f"tenant-{index}") for index in range(4)]
    targets = [Target(database_id) for database_id in ids]
    migrations = list_migrations(migrations_dir)
    # tenant-1 loses its connection on 0002 more often than the client retries.
    api.fail("drop", database_id=ids[1], sql_contains="CREATE TABLE orders", times=3)
    # tenant-2's 0002 commits but its response is lost, and so is every request after it:
    # the two retries and the three attempts to read the ledger back.
    lost = api.fail("drop_after", database_id=ids[2], sql_contains="CREATE TABLE orders", times=1)
    api.fail("drop", database_id=ids[2], times=5, after=lost)

    first = fan_out(client, migrations, targets, concurrency=3)
    assert not first.ok
    assert [state.error is None for state in first.states] == [True, False, False, True]
    assert first.states[1].applied_now == ["0001_customers.sql"]
    assert first.states[1].pending == ["0002_orders.sql", "0003_customer_email.sql"]
    assert "0002_orders.sql" in first.states[1].error
    assert ledger(api, ids[1]) == ["0001_customers.sql"]

    second = fan_out(client, migrations, targets, concurrency=3)
    assert second.ok
    assert [state.applied_now for state in second.states] == [
        [], list(MIGRATIONS)[1:], list(MIGRATIONS)[2:], []]
    assert second.states[2].applied_before == list(MIGRATIONS)[:2]
    for database_id in ids:
        assert ledger(api, database_id) == list(MIGRATIONS)
        for name in MIGRATIONS:
            assert successful_records(api, database_id, name) == 1, (database_id, name)
        connection = api.connect(database_id)
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (1,)


def test_summary_table_lists_each_database(api, client, migrations_dir):
    ids = [api.add_database(name) for name in ("tenant-a", "tenant-b")]
    api.fail("500", database_id=ids[1], times=3)
    report = fan_out(client, list_migrations(migrations_dir), resolve_targets(client, name_prefix="tenant-"))
    lines = report.table().splitlines()
    assert lines[0].split() == ["database", "applied", "before", "applied", "now", "pending", "error"]
    assert lines[2].startswith(f"tenant-a ({ids[0]})")
    assert "3: 0001_customers.sql .. 0003_customer_email.sql" in lines[2]
    assert lines[3].startswith(f"tenant-b ({ids[1]})")
    assert lines[3].split()[2:6] == ["?", "?", "?", "d1_migrations"]
    assert "Internal server error" in lines[3]


@pytest.fixture
def run_cli(monkeypatch, api):
    """Run the real ``dmodel fanout`` against the fake API."""
    return cli_runner(monkeypatch, api, "d1", "fanout")


def test_cli_fanout_json(api, run_cli, migrations_dir, capsys):
    ids = [api.add_database(f"tenant-{index}") for index in range(2)]
    assert run_cli(str(migrations_dir), "--prefix", "tenant-", "--concurrency", "2", "--json") == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert payload["ok"] is True
    assert payload["counts"] == {"databases": 2, "failed": 0, "applied_now": 6, "pending": 0}
    assert [database["database_id"] for database in payload["databases"]] == ids
    assert "applied now" in captured.err
    assert TOKEN not in captured.out + captured.err


def test_cli_fanout_failure_exits_1(api, run_cli, migrations_dir, capsys):
    database_id = api.add_database("tenant-a")
    api.fail("500", times=10)
    assert run_cli(str(migrations_dir), "--database", database_id, "--retries", "0") == 1
    output = capsys.readouterr().out
    assert database_id in output
    assert "Internal server error" in output


def test_cli_fanout_dry_run(api, run_cli, migrations_dir, capsys):
    database_id = api.add_database("tenant-a")
    assert run_cli(str(migrations_dir), "--database", database_id, "--dry-run") == 0
    assert "3: 0001_customers.sql .. 0003_customer_email.sql" in capsys.readouterr().out
    assert api.connect(database_id).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_cli_fanout_lint_finding_exits_2(api, run_cli, migrations_dir, capsys):
    database_id = api.add_database("tenant-a")
    (migrations_dir / "0004_bad.sql").write_text("BEGIN;\nDROP TABLE orders;\nCOMMIT;\n")
    assert run_cli(str(migrations_dir), "--database", database_id) == 2
    error = capsys.readouterr().err
    assert "0004_bad.sql" in error
    assert "D1001" in error
    assert api.requests == []


def test_cli_fanout_missing_token_exits_2(api, run_cli, migrations_dir, monkeypatch, capsys):
    monkeypatch.delenv(TOKEN_VARIABLE)
    assert run_cli(str(migrations_dir), "--database", "x") == 2
    assert TOKEN_VARIABLE in capsys.readouterr().err


def test_cli_fanout_missing_folder_exits_2(run_cli, tmp_path, capsys):
    assert run_cli(str(tmp_path / "nope"), "--database", "x") == 2
    assert "migrations folder not found" in capsys.readouterr().err


def test_ledger_creation_failure_keeps_state(api, client, migrations_dir):
    database_id = api.add_database("tenant-a")
    api.fail("500", sql_contains="CREATE TABLE IF NOT EXISTS d1_migrations", times=10)
    [state] = fan_out(client, list_migrations(migrations_dir), [Target(database_id)]).states
    assert state.known
    assert state.pending == list(MIGRATIONS)
    assert state.applied_now == []
    assert state.error == "Internal server error"
