"""The main job on the bundled example: golden files, a real SQLite apply, determinism and --check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from golden import EXPECTED, render_example


@pytest.fixture(scope="module")
def example_output(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path_factory.mktemp("example")
    return out, render_example(out)


def expected_files() -> dict[str, bytes]:
    return {str(path.relative_to(EXPECTED)): path.read_bytes()
            for path in sorted(EXPECTED.rglob("*")) if path.is_file()}


def test_golden_file_list(example_output):
    _, files = example_output
    assert sorted(files) == sorted(expected_files())


@pytest.mark.parametrize("relative", sorted(expected_files()))
def test_golden_file_content(example_output, relative):
    _, files = example_output
    assert files[relative] == expected_files()[relative], (
        f"{relative} differs from fixtures/example/expected; if the change is deliberate, run "
        "'python tests/golden.py update' and explain it in the commit")


def apply(database: Path, *files: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    for path in files:
        connection.executescript("BEGIN;\n" + path.read_text() + "\nCOMMIT;")
    return connection


def seed_row_counts(seed: str) -> dict[str, int]:
    """Count the value tuples of each table's INSERT statements in seed.sql."""
    counts: dict[str, int] = {}
    table = None
    for line in seed.splitlines():
        if line.startswith("INSERT INTO "):
            table = line.split()[2].strip('"')
            counts.setdefault(table, 0)
        elif line.startswith("  (") and table:
            counts[table] += 1
    return counts


def test_example_applies_with_seed(example_output, tmp_path):
    out, _ = example_output
    migration = out / "migrations" / "0001_initial_schema.sql"
    connection = apply(tmp_path / "dev.sqlite", migration, out / "seed.sql")
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    expected = seed_row_counts((out / "seed.sql").read_text())
    assert expected, "the example's seed has no rows"
    for table, rows in expected.items():
        assert connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == rows, table


def test_example_rollback_leaves_no_tables(example_output, tmp_path):
    out, _ = example_output
    connection = apply(tmp_path / "dev.sqlite", out / "migrations" / "0001_initial_schema.sql", out / "seed.sql",
                       out / "migrations" / "rollback" / "0001_initial_schema.sql")
    left = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert left == []


def schema_shape(connection: sqlite3.Connection) -> dict[str, object]:
    shape = {}
    for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        shape[table] = (connection.execute(f'PRAGMA table_xinfo("{table}")').fetchall(),
                        connection.execute(f'PRAGMA foreign_key_list("{table}")').fetchall(),
                        sorted(connection.execute(f'PRAGMA index_list("{table}")').fetchall()))
    return shape


def test_schema_matches_first_migration(example_output, tmp_path):
    out, _ = example_output
    from_schema = apply(tmp_path / "a.sqlite", out / "schema.sql")
    from_migration = apply(tmp_path / "b.sqlite", out / "migrations" / "0001_initial_schema.sql")
    assert schema_shape(from_schema) == schema_shape(from_migration)


def test_second_run_is_identical(tmp_path):
    first = render_example(tmp_path / "first")
    second = render_example(tmp_path / "second")
    assert first == second


def test_check_passes_when_current(tmp_path):
    render_example(tmp_path)
    result = run_cli("generate", tmp_path / "model.json", "-o", tmp_path, "--check")
    assert result.status == 0, result.stderr


def test_check_fails_when_file_would_change(tmp_path):
    render_example(tmp_path)
    (tmp_path / "erd.mmd").write_text("erDiagram\n")
    result = run_cli("generate", tmp_path / "model.json", "-o", tmp_path, "--check", "--json")
    assert result.status == 1
    assert str(tmp_path / "erd.mmd") in result.json()["changed"]
    assert (tmp_path / "erd.mmd").read_text() == "erDiagram\n"


def test_demo_model_has_expected_tables(example_output):
    out, _ = example_output
    connection = apply(out / "check.sqlite", out / "schema.sql")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"deals", "contacts", "orders", "line_items", "customers", "deal_contacts"} <= tables

