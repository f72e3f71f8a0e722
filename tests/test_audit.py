"""The append-only audit log: triggers on real SQLite, the hash chain, and the audit command."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone

import pytest
from conftest import run_cli

from dmodel.apply import apply_sql, connect
from dmodel.audit import (
    GENESIS_HASH, append_entry, insert_sql, next_entry, open_database, read_entries, verify_database, verify_entries,
)
from dmodel.generate import initial_migration
from dmodel.standard import load_standard
from wrangler_d1 import LocalD1, WranglerError, requires_wrangler

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def database(tmp_path):
    """A platform database file, created by the standard model's migration, holding three audit rows."""
    path = tmp_path / "platform.db"
    connection = connect(path)
    apply_sql(connection, initial_migration(load_standard("platform"))[0])
    for number, (actor, action, target) in enumerate([
            ("ops@larkspur.example.com", "token.create", "service_tokens/1"),
            ("crm-sync", "d1.migrate", "larkspur-sales"),
            ("ops@larkspur.example.com", "token.revoke", "service_tokens/1")]):
        append_entry(connection, actor=actor, action=action, target=target,
                     occurred_at=T0.replace(minute=number), details={"step": number, "note": "Müller's"})
    connection.close()
    return path


def tamper(path, *statements: str) -> None:
    """Run statements the way an attacker would: with the guard triggers dropped first."""
    connection = connect(path)
    connection.execute("DROP TRIGGER audit_log_reject_update")
    connection.execute("DROP TRIGGER audit_log_reject_delete")
    connection.execute("DROP TRIGGER audit_log_check_chain")
    for statement in statements:
        connection.execute(statement)
    connection.close()


def verify(path, *extra):
    return run_cli("audit", "verify", path, "--json", *extra)


def test_update_rejected_by_trigger(database):
    connection = connect(database)
    with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE"):
        connection.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 2")
    assert connection.execute("SELECT actor FROM audit_log WHERE id = 2").fetchone() == ("crm-sync",)


def test_delete_rejected_by_trigger(database):
    connection = connect(database)
    with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE"):
        connection.execute("DELETE FROM audit_log WHERE id = 1")
    assert connection.execute("SELECT count(*) FROM audit_log").fetchone() == (3,)


def test_insert_off_chain_rejected(database):
    connection = connect(database)
    with pytest.raises(sqlite3.IntegrityError, match="prev_hash must equal"):
        connection.execute("INSERT INTO audit_log (id, occurred_at, actor, action, target, prev_hash, row_hash) "
                           f"VALUES (4, '2026-12-04T11:00:00Z', 'x', 'y', 'z', '{GENESIS_HASH}', '{'a' * 64}')")


def test_row_hash_follows_documented_formula(database):
    entries = read_entries(sqlite3.connect(database))
    first = entries[0]
    content = json.dumps({"id": 1, "occurred_at": "2026-12-04T10:00:00.000Z", "actor": first.actor,
                          "action": "token.create", "target": "service_tokens/1",
                          "details": '{"note":"Müller\'s","step":0}'},
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.prev_hash == "0" * 64
    assert first.row_hash == hashlib.sha256(("0" * 64 + "\n" + content).encode("utf-8")).hexdigest()
    assert entries[1].prev_hash == first.row_hash


def test_verify_intact_chain(database):
    result = verify(database)
    assert result.status == 0, result.stderr
    assert result.json()["rows"] == 3
    assert result.json()["missing_triggers"] == []


def test_verify_detects_changed_row(database):
    tamper(database, "UPDATE audit_log SET actor = 'nobody' WHERE id = 2")
    result = verify(database)
    assert result.status == 1
    assert result.json()["first_break"]["id"] == 2
    assert "audit_log row 2: row_hash does not match" in result.stderr


def test_verify_warns_when_triggers_dropped(database):
    tamper(database)
    result = verify(database)
    assert result.status == 0
    assert result.json()["missing_triggers"] == ["audit_log_reject_update", "audit_log_reject_delete"]
    assert "trigger audit_log_reject_update is missing" in result.stderr


def test_verify_detects_rehashed_row(database):
    connection = sqlite3.connect(database)
    entries = read_entries(connection)
    connection.close()
    forged = hashlib.sha256(b"forged").hexdigest()
    tamper(database, f"UPDATE audit_log SET target = 'elsewhere', row_hash = '{forged}' WHERE id = 2")
    result = verify(database)
    assert result.status == 1
    assert result.json()["first_break"]["id"] == 2
    assert entries[1].row_hash != forged


def test_verify_detects_deleted_middle_row(database):
    tamper(database, "DELETE FROM audit_log WHERE id = 2")
    result = verify(database)
    assert result.status == 1
    assert result.json()["first_break"]["id"] == 3
    assert "prev_hash does not match" in result.stderr


def test_verify_head_detects_truncation(database):
    head = verify(database).json()["head"]
    tamper(database, "DELETE FROM audit_log WHERE id = 3")
    assert verify(database).status == 0
    result = verify(database, "--head", head)
    assert result.status == 1
    assert result.json()["first_break"]["id"] == 3


def test_verify_head_accepts_older_row(database):
    connection = sqlite3.connect(database)
    older = read_entries(connection)[0].row_hash
    connection.close()
    assert verify(database, "--head", older).status == 0


def test_append_command_extends_chain(database):
    result = run_cli("audit", "append", database, "--actor", "ops", "--action", "token.rotate",
                     "--target", "service_tokens/2", "--details", '{"reason": "scheduled"}',
                     "--at", "2026-12-04T11:30:00+01:00", "--json")
    assert result.status == 0, result.stderr
    entry = result.json()["entry"]
    assert entry["id"] == 4
    assert entry["occurred_at"] == "2026-12-04T10:30:00.000Z"
    assert entry["details"] == '{"reason":"scheduled"}'
    assert verify(database).status == 0


def test_append_library_on_empty_log(tmp_path):
    connection = connect(tmp_path / "empty.db")
    apply_sql(connection, initial_migration(load_standard("platform"))[0])
    entry = append_entry(connection, actor="a", action="b", target="c", occurred_at=T0)
    assert (entry.id, entry.prev_hash) == (1, GENESIS_HASH)
    assert verify_database(connection).intact


def test_append_rejects_empty_actor(database):
    result = run_cli("audit", "append", database, "--actor", "", "--action", "x", "--target", "y")
    assert result.status == 2
    assert "SQLite rejected the entry" in result.stderr
    assert verify(database).json()["rows"] == 3


@pytest.mark.parametrize("option, value, message", [
    ("--details", "{not json", "--details is not valid JSON"),
    ("--details", "[1]", "--details must be a JSON object"),
    ("--at", "2026-12-04 10:00", "is not an ISO-8601 timestamp with a UTC offset"),
])
def test_append_bad_option(database, option, value, message):
    result = run_cli("audit", "append", database, "--actor", "a", "--action", "b", "--target", "c", option, value)
    assert result.status == 2
    assert message in result.stderr


def test_verify_missing_file(tmp_path):
    result = verify(tmp_path / "missing.db")
    assert result.status == 2
    assert result.json()["error"]["message"] == "database file not found"


def test_verify_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database\n" * 20, encoding="utf-8")
    result = verify(path)
    assert result.status == 2
    assert "not a SQLite database" in result.stderr


def test_verify_database_without_audit_log(tmp_path):
    path = tmp_path / "crm.db"
    sqlite3.connect(path).execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)").connection.close()
    result = verify(path)
    assert result.status == 2
    assert "table audit_log not found" in result.stderr
    assert "dmodel standard platform" in result.stderr


def test_verify_bad_head(database):
    result = verify(database, "--head", "abc")
    assert result.status == 2
    assert "is not a row hash" in result.stderr


def test_open_database_read_only(database):
    connection = open_database(database, writable=False)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connection.execute("INSERT INTO validation_runs (validator, target) VALUES ('a', 'b')")


def test_next_entry_is_pure():
    first = next_entry(None, actor="a", action="b", target="c", occurred_at=T0)
    second = next_entry(first, actor="a", action="b", target="c", occurred_at=T0, details={"x": 1})
    assert (first.id, second.id) == (1, 2)
    assert second.prev_hash == first.row_hash
    assert verify_entries([first, second]).intact


def test_insert_sql_round_trip(tmp_path):
    connection = connect(tmp_path / "sql.db")
    apply_sql(connection, initial_migration(load_standard("platform"))[0])
    entry = next_entry(None, actor="O'Brien", action="token.create", target="service_tokens/1", occurred_at=T0,
                       details={"note": "semi; colon"})
    apply_sql(connection, insert_sql(entry))
    assert read_entries(connection) == [entry]


@requires_wrangler
def test_platform_audit_log_on_local_d1(tmp_path):
    d1 = LocalD1(tmp_path)
    forward, _ = initial_migration(load_standard("platform"))
    d1.add_migration("0001_initial_schema.sql", forward)
    first = next_entry(None, actor="ops", action="token.create", target="service_tokens/1", occurred_at=T0)
    second = next_entry(first, actor="crm-sync", action="d1.migrate", target="larkspur-sales", occurred_at=T0)
    off_chain = next_entry(None, actor="mallory", action="x", target="y", occurred_at=T0)
    d1.add_migration("0002_audit_entries.sql", insert_sql(first) + "\n" + insert_sql(second) + "\n")
    d1.apply_migrations()

    with pytest.raises(WranglerError, match="append-only: UPDATE is not allowed"):
        d1.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 1")
    with pytest.raises(WranglerError, match="append-only: DELETE is not allowed"):
        d1.execute("DELETE FROM audit_log WHERE id = 2")
    with pytest.raises(WranglerError, match="prev_hash must equal"):
        d1.execute(insert_sql(off_chain).replace("VALUES (1,", "VALUES (3,"))
    with d1.connect_readonly() as connection:
        assert verify_database(connection).intact
        assert read_entries(connection) == [first, second]


def test_verify_head_detects_rewritten_chain(database):
    connection = sqlite3.connect(database)
    entries = read_entries(connection)
    connection.close()
    head = entries[-1].row_hash
    forged = [next_entry(None, actor=entries[0].actor, action=entries[0].action, target=entries[0].target,
                         occurred_at=T0, details={"note": "rewritten"})]
    for entry in entries[1:]:
        forged.append(next_entry(forged[-1], actor=entry.actor, action=entry.action, target=entry.target,
                                 occurred_at=T0, details=json.loads(entry.details)))
    tamper(database, "DELETE FROM audit_log", *(insert_sql(entry) for entry in forged))
    assert verify(database).status == 0
    result = verify(database, "--head", head)
    assert result.status == 1
    assert "the chain was rewritten" in result.stderr
