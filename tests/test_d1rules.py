"""D1 rules: statement splitting, one failing and one passing case per rule, and ``dmodel lint``."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmodel import cli
from dmodel.conventions import quote_string
from dmodel.d1rules import RULES, assert_d1_safe, lint_sql, split_statements
from dmodel.errors import LimitError


def codes(sql: str) -> list[str]:
    return [finding.code for finding in lint_sql(sql, file="m.sql")]


def wide_table(columns: int) -> str:
    body = ", ".join(f"c{index} TEXT" for index in range(columns))
    return f"CREATE TABLE wide (id INTEGER PRIMARY KEY, {body}, UNIQUE (c0), CHECK (c0 <> ''));\n"


def function_call(arguments: int) -> str:
    pairs = ", ".join(f"'k{index}', {index}" for index in range(arguments // 2))
    return f"SELECT json_object({pairs});\n"


def insert_parameters(count: int, placeholder: str = "?") -> str:
    columns = ", ".join(f"c{index}" for index in range(count))
    values = ", ".join(placeholder.format(index) for index in range(count))
    return f"INSERT INTO t ({columns}) VALUES ({values});\n"


# (code, SQL that breaks the rule, SQL that keeps it)
RULE_CASES = [
    ("D1000", "INSERT INTO t (a) VALUES ('open);\n", "INSERT INTO t (a) VALUES ('closed');\n"),
    ("D1001", "BEGIN TRANSACTION;\nCREATE TABLE t (a);\nCOMMIT;\n", "CREATE TABLE t (a);\n"),
    ("D1001", "SAVEPOINT s;\n", "SELECT 1;\n"),
    ("D1001", "CREATE TABLE t (a);\nEND;\n", "CREATE TABLE t (a);\n"),
    ("D1002", "CREATE TABLE _cf_notes (a);\n", "CREATE TABLE cf_notes (a);\n"),
    ("D1002", "CREATE INDEX sqlite_autoindex_x ON t (a);\n", "CREATE INDEX idx_t__a ON t (a);\n"),
    ("D1002", "CREATE TRIGGER \"_CF_guard\" BEFORE DELETE ON t BEGIN SELECT 1; END;\n",
     "CREATE TRIGGER guard BEFORE DELETE ON t BEGIN SELECT 1; END;\n"),
    ("D1002", "ALTER TABLE t RENAME TO sqlite_t;\n", "ALTER TABLE t RENAME TO t2;\n"),
    ("D1003", "CREATE TABLE IF NOT EXISTS D1_Migrations (id INTEGER);\n",
     "CREATE TABLE IF NOT EXISTS app_migrations (id INTEGER);\n"),
    ("D1004", wide_table(100), wide_table(99)),
    ("D1004", wide_table(99) + "ALTER TABLE wide ADD COLUMN extra TEXT;\n",
     wide_table(99) + "ALTER TABLE wide DROP COLUMN c1;\nALTER TABLE wide ADD COLUMN extra TEXT;\n"),
    ("D1005", "INSERT INTO t (a) VALUES ('" + "x" * 99_990 + "');\n",
     "INSERT INTO t (a) VALUES ('" + "x" * 99_900 + "');\n"),
    ("D1006", "CREATE TABLE t (a);\r\nSELECT 1;\r\n", "CREATE TABLE t (a);\nSELECT 1;\n"),
    ("D1007", "CREATE TABLE t (a);\nSELECT 1\n", "CREATE TABLE t (a);\nSELECT 1;\n"),
    ("D1008",
     "CREATE TRIGGER t_flag AFTER INSERT ON t BEGIN\n"
     "  UPDATE t SET a = CASE WHEN new.a > 0 THEN 1 ELSE 0 END WHERE rowid = new.rowid;\nEND;\n",
     "CREATE TRIGGER t_flag AFTER INSERT ON t WHEN new.a > 0 BEGIN\n"
     "  UPDATE t SET a = 1 WHERE rowid = new.rowid;\nEND;\n"),
    ("D1009",
     "CREATE TRIGGER t_touch AFTER UPDATE ON t BEGIN\n  UPDATE t SET b = 1;\n  UPDATE t SET c = 1;\nEND;\n",
     "CREATE TRIGGER t_touch AFTER UPDATE ON t BEGIN\n  UPDATE t SET b = 1;\nEND;\n"),
    ("D1010", "PRAGMA journal_mode = WAL;\n", "PRAGMA optimize;\n"),
    ("D1010", "PRAGMA main.legacy_alter_table = ON;\n", "PRAGMA main.table_xinfo(t);\n"),
    ("D1011", "PRAGMA foreign_keys = OFF;\n", "PRAGMA foreign_keys;\n"),
    ("D1012", "ATTACH DATABASE 'other.db' AS other;\n", "SELECT 1;\n"),
    ("D1012", "VACUUM;\n", "PRAGMA optimize;\n"),
    ("D1012", "DETACH other;\n", "SELECT 1;\n"),
    ("D1013", insert_parameters(101), insert_parameters(100)),
    ("D1013", insert_parameters(101, ":p{}"), insert_parameters(100, "@p{}")),
    ("D1013", "SELECT ?101;\n", "SELECT $a, $a, ?100;\n"),
    ("D1014", "SELECT '" + "x" * 2_000_000 + "';\n", "SELECT 'small';\n"),
    ("D1014", "SELECT X'" + "ab" * 2_000_000 + "';\n", "SELECT X'" + "ab" * 1000 + "';\n"),
    ("D1015", "INSERT INTO t (a, b) VALUES ('" + "x" * 1_000_000 + "', '" + "y" * 1_000_000 + "');\n",
     "INSERT INTO t (a, b) VALUES ('x', 'y'), ('z', 'w');\n"),
    ("D1016", function_call(34), function_call(32)),
]


@pytest.mark.parametrize(("code", "failing", "passing"), RULE_CASES,
                         ids=[f"{case[0]}-{index}" for index, case in enumerate(RULE_CASES)])
def test_rule_failing_and_passing(code, failing, passing):
    assert code in codes(failing)
    assert code not in codes(passing)


def test_every_rule_has_a_case():
    assert {case[0] for case in RULE_CASES} == set(RULES)


def test_clean_migration_has_no_findings():
    sql = (
        "CREATE TABLE customers (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  name TEXT NOT NULL CHECK (length(name) > 0),\n"
        "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))\n"
        ") STRICT;\n"
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, message TEXT NOT NULL) STRICT;\n"
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
        "BEGIN\n"
        "  SELECT RAISE(ABORT, 'audit_log is append-only; insert a new row');\n"
        "END;\n"
        "CREATE INDEX idx_customers__name ON customers (name) WHERE name IS NOT NULL;\n"
        "INSERT INTO audit_log (message) VALUES ('created; then -- checked /* here */');\n"
        "PRAGMA defer_foreign_keys = on;\n"
        "WITH recent(a, b, c) AS (SELECT 1, 2, 3) SELECT * FROM recent;\n"
    )
    assert lint_sql(sql) == []


def test_finding_has_file_line_and_fix():
    [finding] = lint_sql("SELECT 1;\n\n  SAVEPOINT s;\n", file="0002_x.sql")
    assert finding.code == "D1001"
    assert finding.file == "0002_x.sql"
    assert finding.line == 3
    assert finding.fix
    assert finding.render().startswith("0002_x.sql:3: D1001 ")


def test_column_lists_not_function_calls():
    columns = ", ".join(f"c{index}" for index in range(40))
    sql = (f"CREATE TABLE t ({columns});\n"
           f"INSERT INTO t ({columns}) VALUES ({', '.join('1' for _ in range(40))});\n"
           f"CREATE INDEX idx_t__all ON t ({columns});\n"
           f"SELECT * FROM t WHERE c0 IN ({', '.join(str(i) for i in range(40))});\n")
    assert "D1016" not in codes(sql)


def test_split_keeps_semicolon_in_string_literal():
    statements = split_statements("INSERT INTO t VALUES ('a;b');\nSELECT 'it''s; fine';\n")
    assert [statement.text for statement in statements] == [
        "INSERT INTO t VALUES ('a;b')", "SELECT 'it''s; fine'"]


def test_split_keeps_semicolon_in_comments_and_identifiers():
    sql = ('-- leading; comment\nCREATE TABLE "odd;name" (`a;b` TEXT, [c;d] TEXT); /* x; y */\n'
           "SELECT 1;\n")
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].line == 2
    assert statements[0].text.endswith("[c;d] TEXT)")
    assert statements[1].line == 3


def test_split_keeps_trigger_body_together():
    sql = (
        "CREATE TRIGGER log_guard BEFORE DELETE ON log\n"
        "BEGIN\n"
        "  SELECT CASE WHEN old.id > 0 THEN RAISE(ABORT, 'no; delete') END;\n"
        "  INSERT INTO other VALUES (1);\n"
        "END;\n"
        "CREATE TRIGGER single BEFORE UPDATE ON log BEGIN SELECT RAISE(ABORT, 'x'); END;\n"
        "SELECT 1;\n"
    )
    statements = split_statements(sql)
    assert [statement.line for statement in statements] == [1, 6, 7]
    assert statements[0].end_line == 5
    assert statements[0].text.endswith("END")
    assert all(statement.terminated for statement in statements)


def test_split_marks_last_statement_unterminated():
    statements = split_statements("SELECT 1;\nSELECT 2 -- trailing\n")
    assert [statement.terminated for statement in statements] == [True, False]


def test_split_drops_empty_statements_and_comment_tail():
    statements = split_statements(";;\nSELECT 1;;\n-- only a comment\n")
    assert [statement.text for statement in statements] == ["SELECT 1"]


def test_split_matches_sqlite(tmp_path):
    sql = (
        "CREATE TABLE log (id INTEGER PRIMARY KEY, message TEXT);\n"
        "CREATE TRIGGER log_no_update BEFORE UPDATE ON log\n"
        "BEGIN\n  SELECT RAISE(ABORT, 'append-only; insert instead');\nEND;\n"
        "INSERT INTO log (message) VALUES ('one; two'), ('three /* not a comment */');\n"
    )
    connection = sqlite3.connect(tmp_path / "split.sqlite")
    connection.execute("PRAGMA foreign_keys = ON")
    for statement in split_statements(sql):
        assert sqlite3.complete_statement(statement.text + ";")
        connection.execute(statement.text)
    assert connection.execute("SELECT count(*) FROM log").fetchone() == (2,)
    with pytest.raises(sqlite3.IntegrityError, match="append-only; insert instead"):
        connection.execute("UPDATE log SET message = 'x'")


def test_assert_d1_safe_raises_limit_error():
    with pytest.raises(LimitError) as raised:
        assert_d1_safe("COMMIT;\n", file="schema.sql")
    assert raised.value.file == "schema.sql"
    assert raised.value.place == "line 1"
    assert "D1001" in str(raised.value)


def test_assert_d1_safe_accepts_clean_sql():
    assert_d1_safe("CREATE TABLE t (id INTEGER PRIMARY KEY);\n")


@pytest.fixture
def run_cli(monkeypatch):
    """Run the real ``dmodel`` entry point with only the lint subcommand registered."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["lint"])
    return cli.main


def test_lint_command_exits_1_on_findings(run_cli, tmp_path, capsys):
    path = tmp_path / "0001_bad.sql"
    path.write_text("BEGIN;\nCREATE TABLE t (a);\nCOMMIT;\n")
    assert run_cli(["lint", str(path)]) == 1
    output = capsys.readouterr().out
    assert f"{path}:1: D1001" in output
    assert f"{path}:3: D1001" in output


def test_lint_command_exits_0_when_clean(run_cli, tmp_path, capsys):
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE t (a);\n")
    (tmp_path / "notes.txt").write_text("BEGIN;\n")
    assert run_cli(["lint", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_lint_command_json(run_cli, tmp_path, capsys):
    path = tmp_path / "0001_bad.sql"
    path.write_text("PRAGMA journal_mode = WAL;\n")
    assert run_cli(["lint", "--json", str(path)]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False
    assert payload["files"] == [str(path)]
    assert [finding["code"] for finding in payload["findings"]] == ["D1010"]
    assert payload["findings"][0]["line"] == 1


def test_lint_command_missing_file_exits_2(run_cli, tmp_path, capsys):
    missing = tmp_path / "nope.sql"
    assert run_cli(["lint", str(missing)]) == 2
    error = capsys.readouterr().err
    assert str(missing) in error
    assert "file not found" in error
    assert "Traceback" not in error


def test_lint_command_non_utf8_exits_2(run_cli, tmp_path, capsys):
    path = tmp_path / "latin1.sql"
    path.write_bytes(b"SELECT 'caf\xe9';\n")
    assert run_cli(["lint", "--json", str(path)]) == 2
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert payload["error"]["place"] == "byte offset 11"
    assert "UTF-8" in payload["error"]["fix"]


TRICKY_TEXT = st.text(alphabet=list("ab ;'\"`[]-/*\nEND BEGIN CASE"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(TRICKY_TEXT, min_size=1, max_size=6))
def test_split_round_trips_literals(values):
    statements = [
        f"INSERT INTO t (a) VALUES ({quote_string(value)})" if index % 2 == 0 else
        f"CREATE TRIGGER t_{index} BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, {quote_string(value)}); END"
        for index, value in enumerate(values)]
    sql = "".join(f"{statement};\n-- note; {index}\n" for index, statement in enumerate(statements))
    split = split_statements(sql)
    assert [statement.text for statement in split] == statements
    assert all(sqlite3.complete_statement(statement.text + ";") for statement in split)
    assert [statement.line for statement in split] == [
        1 + 2 * index + sum(value.count("\n") for value in values[:index]) for index in range(len(values))]
    assert lint_sql(sql) == []
