"""Evolving the bundled example: rename hints become a second migration that keeps every row."""

from __future__ import annotations

import json
import sqlite3

from conftest import EXAMPLE, run_cli


def row_counts(database) -> dict[str, int]:
    connection = sqlite3.connect(database)
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('d1_migrations', 'sqlite_sequence')")]
    return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def test_rename_hints_become_second_migration(tmp_path):
    discovery = EXAMPLE / "discovery.json"
    assert run_cli("design", discovery, "-o", tmp_path / "model.json").status == 0
    assert run_cli("generate", tmp_path / "model.json", "-o", tmp_path).status == 0
    database = tmp_path / "dev.sqlite"
    applied = run_cli("apply", database, tmp_path / "migrations" / "0001_initial_schema.sql", tmp_path / "seed.sql")
    assert applied.status == 0, applied.stderr
    before = row_counts(database)

    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"rename": {"deals": "opportunities", "contacts.title": "job_title"}}))
    assert run_cli("design", discovery, "-o", tmp_path / "model.json", "--hints", hints).status == 0
    generated = run_cli("generate", tmp_path / "model.json", "-o", tmp_path, "--json")
    assert generated.status == 0, generated.stderr
    migration = generated.json()["migration"]
    assert migration and migration.split("/")[-1].startswith("0002_")
    applied = run_cli("apply", database, migration)
    assert applied.status == 0, applied.stderr

    after = row_counts(database)
    assert after["opportunities"] == before["deals"]
    assert "deals" not in after
    assert {table: count for table, count in after.items() if table != "opportunities"} == {
        table: count for table, count in before.items() if table != "deals"}
    titles = sqlite3.connect(database).execute("SELECT count(job_title) FROM contacts").fetchone()[0]
    assert titles == before["contacts"]


def test_regenerate_after_rename_adds_nothing(tmp_path):
    discovery = EXAMPLE / "discovery.json"
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"rename": {"deals": "opportunities"}}))
    assert run_cli("design", discovery, "-o", tmp_path / "model.json").status == 0
    assert run_cli("generate", tmp_path / "model.json", "-o", tmp_path).status == 0
    assert run_cli("design", discovery, "-o", tmp_path / "model.json", "--hints", hints).status == 0
    assert run_cli("generate", tmp_path / "model.json", "-o", tmp_path).status == 0
    again = run_cli("generate", tmp_path / "model.json", "-o", tmp_path, "--json")
    assert again.status == 0
    assert again.json()["migration"] is None


def test_refused_change_writes_nothing(tmp_path):
    assert run_cli("design", EXAMPLE / "discovery.json", "-o", tmp_path / "model.json").status == 0
    assert run_cli("generate", tmp_path / "model.json", "-o", tmp_path).status == 0
    model = json.loads((tmp_path / "model.json").read_text())
    contacts = next(entity for entity in model["entities"] if entity["name"] == "contacts")
    contacts["columns"].append({"name": "nickname", "logical_type": "text", "sqlite_type": "TEXT", "nullable": False})
    (tmp_path / "model.json").write_text(json.dumps(model))
    before = sorted(path.name for path in (tmp_path / "migrations").rglob("*"))

    result = run_cli("generate", tmp_path / "model.json", "-o", tmp_path, "--json")
    assert result.status == 1
    assert result.json()["ok"] is False
    assert any("contacts.nickname" in line for line in result.json()["refused"])
    assert sorted(path.name for path in (tmp_path / "migrations").rglob("*")) == before

    allowed = run_cli("generate", tmp_path / "model.json", "-o", tmp_path, "--backfill", "contacts.nickname='-'",
                      "--json")
    assert allowed.status == 0, allowed.stderr
    assert allowed.json()["migration"].endswith(".sql")
