"""dmodel apply: D1's transaction per file and wrangler's migration ledger on a local SQLite file."""

from __future__ import annotations

import sqlite3

from conftest import run_cli


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def ledger(database) -> list[str]:
    return [row[0] for row in sqlite3.connect(database).execute("SELECT name FROM d1_migrations ORDER BY id")]


def test_migration_recorded_in_ledger(tmp_path):
    migration = write(tmp_path / "migrations" / "0001_init.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);\n")
    seed = write(tmp_path / "seed.sql", "INSERT INTO t (id) VALUES (1);\n")
    result = run_cli("apply", tmp_path / "dev.sqlite", migration, seed)
    assert result.status == 0, result.stderr
    assert ledger(tmp_path / "dev.sqlite") == ["0001_init.sql"]


def test_recorded_migration_skipped(tmp_path):
    migration = write(tmp_path / "migrations" / "0001_init.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);\n")
    assert run_cli("apply", tmp_path / "dev.sqlite", migration).status == 0
    again = run_cli("apply", tmp_path / "dev.sqlite", migration, "--json")
    assert again.status == 0, again.stderr
    assert again.json()["skipped"] == [str(migration)]


def test_rollback_removes_record(tmp_path):
    migration = write(tmp_path / "migrations" / "0001_init.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);\n")
    rollback = write(tmp_path / "migrations" / "rollback" / "0001_init.sql", "DROP TABLE t;\n")
    assert run_cli("apply", tmp_path / "dev.sqlite", migration, rollback).status == 0
    assert ledger(tmp_path / "dev.sqlite") == []


def test_failed_migration_not_recorded(tmp_path):
    migration = write(tmp_path / "migrations" / "0001_bad.sql",
                      "CREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO missing VALUES (1);\n")
    result = run_cli("apply", tmp_path / "dev.sqlite", migration)
    assert result.status == 2
    tables = sqlite3.connect(tmp_path / "dev.sqlite").execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == []


def test_deferred_violation_rejects_file(tmp_path):
    schema = write(tmp_path / "schema.sql", "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
                   "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n")
    seed = write(tmp_path / "seed.sql", "PRAGMA defer_foreign_keys = on;\nINSERT INTO c VALUES (1, 9);\n")
    result = run_cli("apply", tmp_path / "dev.sqlite", schema, seed)
    # Deferred foreign keys are checked at COMMIT, so SQLite rejects the seed file as a whole.
    assert result.status == 2
    assert "FOREIGN KEY" in result.stderr


def test_row_counts_skip_internal_tables(tmp_path):
    migration = write(tmp_path / "migrations" / "0001_init.sql",
                      "CREATE TABLE xcfy (id INTEGER PRIMARY KEY);\nCREATE TABLE sqliteish (id INTEGER);\n")
    result = run_cli("apply", tmp_path / "dev.sqlite", migration, "--json")
    assert set(result.json()["row_counts"]) == {"xcfy", "sqliteish"}
