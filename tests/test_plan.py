"""Migration planning: the initial schema, numbering, slugs, renames, rendering and the generator."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from dmodel import ledger
from dmodel.compare import compare
from dmodel.d1rules import lint_sql
from dmodel.introspect import apply_script, introspect_connection, schema_from_sql, split_statements
from dmodel.plan import LOSSY_PREFIX, is_constant_default, next_migration_number, plan_migration

SCHEMA = """
CREATE TABLE IF NOT EXISTS pipeline_stages (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS deals (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    stage_id INTEGER REFERENCES pipeline_stages (id) ON DELETE SET NULL,
    amount_cents INTEGER NOT NULL DEFAULT 0 CHECK (amount_cents >= 0),
    closed INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1))
) STRICT;
CREATE INDEX IF NOT EXISTS idx_deals__account_id ON deals (account_id);
CREATE INDEX IF NOT EXISTS idx_deals__open ON deals (stage_id) WHERE closed = 0;
CREATE VIEW IF NOT EXISTS open_deals AS SELECT * FROM deals WHERE closed = 0;
CREATE TRIGGER IF NOT EXISTS trg_deals__no_reopen BEFORE UPDATE OF closed ON deals
    WHEN OLD.closed = 1 AND NEW.closed = 0 BEGIN SELECT RAISE(ABORT, 'a closed deal stays closed'); END;
"""


def code_of(statement: str) -> str:
    """Return a statement without the comment lines and blank lines in front of it."""
    lines = statement.splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("--")):
        lines.pop(0)
    return "\n".join(lines)


def write_migration(folder: Path, plan, number: int | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    number = number or next_migration_number(folder)
    path = folder / f"{number:04d}_{plan.slug}.sql"
    path.write_text(plan.forward_sql())
    return path


def test_initial_plan_creates_everything(tmp_path: Path) -> None:
    plan = plan_migration(SCHEMA, tmp_path / "missing")
    assert plan.initial
    assert plan.slug == "initial_schema"
    statements = [code_of(statement) for statement in split_statements(plan.forward_sql())]
    creates = [statement.split("(")[0].split()[:6] for statement in statements if statement.startswith("CREATE")]
    assert [words[5] for words in creates[:3]] == ["pipeline_stages", "accounts", "deals"]
    assert all(words[1:5] in (["TABLE", "IF", "NOT", "EXISTS"], ["INDEX", "IF", "NOT", "EXISTS"],
                              ["VIEW", "IF", "NOT", "EXISTS"], ["TRIGGER", "IF", "NOT", "EXISTS"])
               for words in creates)
    assert len(creates) == 7


def test_initial_rollback_drops_children_first(tmp_path: Path) -> None:
    plan = plan_migration(SCHEMA, None)
    statements = [code_of(statement) for statement in split_statements(plan.rollback_sql())]
    drops = [statement.split()[-1].rstrip(";") for statement in statements if statement.startswith("DROP TABLE")]
    assert drops == ["deals", "accounts", "pipeline_stages"]
    assert plan.lossy_rollback
    assert plan.rollback_sql().count(LOSSY_PREFIX) == 3


def test_initial_plan_applies_and_rolls_back(tmp_path: Path) -> None:
    plan = plan_migration(SCHEMA, None)
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    apply_script(connection, plan.forward_sql())
    assert compare(introspect_connection(connection), schema_from_sql(SCHEMA)) == []
    apply_script(connection, plan.rollback_sql())
    assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_schema_against_itself_is_empty(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write_migration(migrations, plan_migration(SCHEMA, migrations))
    plan = plan_migration(SCHEMA, migrations)
    assert plan.operations == []
    assert plan.slug == "no_changes"


def test_comparison_ignores_spelling(tmp_path: Path) -> None:
    respelled = (SCHEMA.replace("DEFAULT 0 CHECK (amount_cents", "DEFAULT (0) CHECK ((amount_cents")
                 .replace(">= 0)", ">= 0))").replace("CREATE TABLE IF NOT EXISTS accounts (id",
                                                    'create table "Accounts" ("ID"')
                 .replace("WHERE closed = 0;", "where   CLOSED=0;"))
    assert compare(schema_from_sql(SCHEMA), schema_from_sql(respelled)) == []


@pytest.mark.parametrize("names, expected", [
    ([], 1),
    (["0001_initial_schema.sql", "0002_add_x.sql"], 3),
    (["0009_a.sql", "0010_b.sql", "notes.txt", "0099_later.down.txt"], 100),
    (["README.md"], 1),
])
def test_next_migration_number(tmp_path: Path, names: list[str], expected: int) -> None:
    for name in names:
        (tmp_path / name).write_text("-- x\n")
    (tmp_path / "rollback").mkdir()
    (tmp_path / "rollback" / "0500_old.sql").write_text("-- x\n")
    assert next_migration_number(tmp_path) == expected


@pytest.mark.parametrize("default, constant", [
    (None, True), ("0", True), ("(0)", True), ("-1.5", True), ("'x'", True), ("NULL", True), ("x'00'", True),
    ("CURRENT_TIMESTAMP", False), ("(strftime('%Y', 'now'))", False), ("(1 + 2)", False),
])
def test_constant_default(default: str | None, constant: bool) -> None:
    assert is_constant_default(default) is constant


def evolve(tmp_path: Path, target: str, **options):
    migrations = tmp_path / "migrations"
    if not migrations.exists():
        write_migration(migrations, plan_migration(SCHEMA, migrations))
    return plan_migration(target, migrations, **options), migrations


def test_slug_names_the_change(tmp_path: Path) -> None:
    plan, _ = evolve(tmp_path, SCHEMA.replace("    closed INTEGER", "    priority TEXT,\n    closed INTEGER"))
    assert plan.slug == "add_deals_priority"
    assert [op.code for op in plan.operations] == ["MF101"]
    assert plan.forward_sql().count("ALTER TABLE deals ADD COLUMN priority TEXT;") == 1
    assert "ALTER TABLE deals DROP COLUMN priority;" in plan.rollback_sql()


def test_two_changes_join_slug(tmp_path: Path) -> None:
    target = SCHEMA.replace("    closed INTEGER", "    priority TEXT,\n    closed INTEGER")
    target += "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT) STRICT;\n"
    plan, _ = evolve(tmp_path, target)
    assert plan.slug == "create_notes_and_add_deals_priority"


def test_rename_needs_hint(tmp_path: Path) -> None:
    target = SCHEMA.replace("accounts", "companies")
    guessed, _ = evolve(tmp_path, target, allow_destructive=True)
    assert "MF112" not in {op.code for op in guessed.operations}
    assert "DS102" in {op.code for op in guessed.operations}

    hinted, _ = evolve(tmp_path, target, renames={"accounts": "companies"})
    assert [op.code for op in hinted.operations if op.code.startswith(("MF112", "DS", "MF102"))] == ["MF112"]
    assert "ALTER TABLE accounts RENAME TO companies;" in hinted.forward_sql()
    assert "ALTER TABLE companies RENAME TO accounts;" in hinted.rollback_sql()
    assert any("old name" in warning for warning in hinted.warnings)


def test_stale_rename_hint_is_ignored(tmp_path: Path) -> None:
    plan, _ = evolve(tmp_path, SCHEMA, renames={"clients": "accounts", "deals.amount": "amount_cents"})
    assert plan.operations == []
    assert len(plan.warnings) == 2


def test_view_over_renamed_column_recreated(tmp_path: Path) -> None:
    target = SCHEMA.replace("closed", "is_closed")
    plan, migrations = evolve(tmp_path, target, renames={"deals.closed": "is_closed"})
    assert "ALTER TABLE deals RENAME COLUMN closed TO is_closed;" in plan.forward_sql()
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    for path in sorted(migrations.glob("*.sql")):
        apply_script(connection, path.read_text())
    apply_script(connection, plan.forward_sql())
    assert compare(introspect_connection(connection), schema_from_sql(target)) == []


def test_output_obeys_d1_rules(tmp_path: Path) -> None:
    target = SCHEMA.replace("name TEXT NOT NULL) STRICT", "name TEXT NOT NULL, region TEXT) STRICT")
    target = target.replace("amount_cents INTEGER NOT NULL", "amount_cents REAL NOT NULL")
    plan, _ = evolve(tmp_path, target)
    assert "RB200" in {op.code for op in plan.operations}
    for text in (plan.forward_sql(), plan.rollback_sql("0002_x.sql")):
        assert lint_sql(text) == []
        assert "\r" not in text
        for statement in split_statements(text):
            first = code_of(statement).split()[0].upper()
            assert first not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
            assert statement.endswith(";")
    assert plan.forward_sql().index("PRAGMA defer_foreign_keys = on;") < plan.forward_sql().index("CREATE TABLE")
    assert "returns the violating rows" in plan.forward_sql()
    assert "PRAGMA foreign_keys = OFF" not in plan.forward_sql()


def test_rebuild_keeps_autoincrement_sequence(tmp_path: Path) -> None:
    schema = "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT) STRICT;\n"
    migrations = tmp_path / "migrations"
    write_migration(migrations, plan_migration(schema, migrations))
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    apply_script(connection, (migrations / "0001_initial_schema.sql").read_text())
    apply_script(connection, "INSERT INTO events (kind) VALUES ('a'), ('b'), ('c'); DELETE FROM events WHERE id = 3;")
    plan = plan_migration(schema.replace("kind TEXT", "kind TEXT NOT NULL DEFAULT 'x'"), migrations)
    apply_script(connection, plan.forward_sql())
    connection.execute("INSERT INTO events (kind) VALUES ('d')")
    assert connection.execute("SELECT max(id) FROM events").fetchone()[0] == 4


def test_generate_writes_next_migration(tmp_path: Path) -> None:
    from dmodel.generate import generate, write_files
    from dmodel.model import Column
    from dmodel.standard import load_standard

    model = load_standard("crm")
    write_files(generate(model, tmp_path).files)
    changed = model.model_copy(deep=True)
    changed.entities[0].columns.append(Column(name="nickname"))
    output = generate(changed, tmp_path)
    write_files(output.files)

    migrations = tmp_path / "migrations"
    assert output.migration is not None
    assert output.migration.name == f"0002_add_{changed.entities[0].name}_nickname.sql"
    assert (migrations / "rollback" / output.migration.name).is_file()
    assert ledger.check(migrations).clean
    assert sorted(ledger.read(migrations)) == ["0001_initial_schema.sql", output.migration.name]
    assert generate(changed, tmp_path).migration is None


def test_generate_cli_refuses_drop(tmp_path: Path) -> None:
    from dmodel.generate import generate, write_files
    from dmodel.standard import load_standard

    model = load_standard("crm")
    write_files(generate(model, tmp_path).files)
    smaller = model.model_copy(deep=True)
    dropped = smaller.entities[0].columns.pop(-3)
    model_path = tmp_path / "model.json"
    model_path.write_text(smaller.model_dump_json())

    refused = run_cli("generate", model_path, "-o", tmp_path)
    assert "refused DS103" in refused.stderr
    assert dropped.name in refused.stderr
    assert list((tmp_path / "migrations").glob("0002_*.sql")) == []

    allowed = run_cli("generate", model_path, "-o", tmp_path, "--allow-destructive", "--json")
    assert allowed.status == 0, allowed.stderr
    assert allowed.json()["migration"].endswith(f"_{dropped.name}.sql")


def test_generate_cli_backfills_not_null(tmp_path: Path) -> None:
    from dmodel.generate import generate, write_files
    from dmodel.model import Column
    from dmodel.standard import load_standard

    model = load_standard("crm")
    write_files(generate(model, tmp_path).files)
    bigger = model.model_copy(deep=True)
    table = bigger.entities[0].name
    bigger.entities[0].columns.append(Column(name="segment", nullable=False))
    model_path = tmp_path / "model.json"
    model_path.write_text(bigger.model_dump_json())

    refused = run_cli("generate", model_path, "-o", tmp_path)
    assert "refused BC103" in refused.stderr
    assert f'--backfill "{table}.segment=VALUE"' in refused.stderr

    filled = run_cli("generate", model_path, "-o", tmp_path, "--backfill", f"{table}.segment='unknown'", "--json")
    assert filled.status == 0, filled.stderr
    migration = Path(filled.json()["migration"]).read_text()
    assert "COALESCE" not in migration
    assert "'unknown'" in migration


def test_generate_cli_rejects_bad_backfill(tmp_path: Path) -> None:
    from dmodel.standard import load_standard

    model_path = tmp_path / "model.json"
    model_path.write_text(load_standard("crm").model_dump_json())
    result = run_cli("generate", model_path, "-o", tmp_path, "--backfill", "segment")
    assert result.status == 2
    assert "TABLE.COLUMN=SQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_changed_index_slug(tmp_path: Path) -> None:
    plan, _ = evolve(tmp_path, SCHEMA.replace("ON deals (account_id)", "ON deals (account_id, closed)"))
    assert [op.code for op in plan.operations] == ["MF105", "MF105"]
    assert plan.slug == "change_index_idx_deals_account_id"


def test_reference_to_dropped_table_warns(tmp_path: Path) -> None:
    target = SCHEMA.replace("CREATE TABLE IF NOT EXISTS pipeline_stages (id INTEGER PRIMARY KEY, "
                            "name TEXT NOT NULL UNIQUE) STRICT;\n", "")
    plan, _ = evolve(tmp_path, target, allow_destructive=True)
    assert "DS102" in {op.code for op in plan.operations}
    assert any("pipeline_stages, which the target schema does not have" in warning for warning in plan.warnings)


def test_real_reference_to_integer_key_warns(tmp_path: Path) -> None:
    plan, _ = evolve(tmp_path, SCHEMA.replace("account_id INTEGER NOT NULL", "account_id REAL NOT NULL"))
    assert any("deals.account_id is REAL" in warning for warning in plan.warnings)


def test_virtual_table_replaced(tmp_path: Path) -> None:
    base = SCHEMA + "CREATE VIRTUAL TABLE deals_search USING fts5(title);\n"
    migrations = tmp_path / "migrations"
    write_migration(migrations, plan_migration(base, migrations))
    target = base.replace("fts5(title)", "fts5(title, notes)")
    assert [op.code for op in plan_migration(target, migrations).refused] == ["DS104"]
    plan = plan_migration(target, migrations, allow_destructive=True)
    assert plan.slug == "recreate_deals_search"
    assert plan.lossy_rollback
    assert "USING fts5(title, notes);" in plan.forward_sql()
    assert "USING fts5(title);" in plan.rollback_sql()


def test_comments_have_no_semicolons(tmp_path: Path) -> None:
    target = SCHEMA.replace("CHECK (closed IN (0, 1))", "CHECK (closed IN (0, 1) AND ';' <> 'x')")
    plan, _ = evolve(tmp_path, target)
    for text in (plan.forward_sql(), plan.rollback_sql()):
        for line in text.splitlines():
            if line.startswith("--"):
                assert ";" not in line, line
