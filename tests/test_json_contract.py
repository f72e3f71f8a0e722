"""Every command keeps the agent contract: --help, one small JSON object, exit statuses."""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import pytest
from pydantic import ValidationError

from dmodel import cli
from dmodel.hints import Hints
from dmodel.model import Column, Entity, ForeignKey, Index, Model, SeedTable

ROOT = pathlib.Path(__file__).resolve().parent.parent
JSON_LIMIT = 8 * 1024
TABLES = 500


def subparsers_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Return every command that runs, by its words: 'design', and 'audit verify' for nested ones."""
    found = {}
    pending = list(subparsers_of(cli.build_parser()).items())
    while pending:
        words, parser = pending.pop(0)
        nested = subparsers_of(parser)
        if nested:
            pending.extend((f"{words} {name}", child) for name, child in nested.items())
        else:
            found[words] = parser
    return found


def run_dmodel(*arguments, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "dmodel", *arguments], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def run_script(script, *arguments):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def one_json_object(stdout: str) -> dict:
    """Return the JSON object that is the whole of stdout; fail if there is anything else."""
    assert stdout.endswith("\n"), "stdout must end with a newline"
    try:
        payload = json.loads(stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"stdout is not exactly one JSON value ({error}): {stdout[:500]!r}") from None
    assert isinstance(payload, dict), f"stdout holds a JSON {type(payload).__name__}, not an object"
    return payload





def json_error(result) -> dict:
    """Check that a run failed on its input as the contract requires, and return its JSON object."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, result.stderr[-3000:]
    payload = one_json_object(result.stdout)
    assert payload["ok"] is False
    assert payload["error"]["message"]
    assert payload["error"]["fix"]
    return payload


# --help

@pytest.mark.parametrize("name", sorted(subcommands()))
def test_help_mentions_every_option(name, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([*name.split(), "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for action in subcommands()[name]._actions:
        for option in action.option_strings:
            assert option in text, f"dmodel {name} --help does not mention {option}"
        if action.option_strings and action.dest != "help":
            assert action.help and action.help != argparse.SUPPRESS, (
                f"dmodel {name}: option {action.option_strings[0]} has no help text saying what it sets")


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_help_runs_as_subprocess(name):
    result = run_dmodel(*name.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: dmodel {name}")


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_usage_error_with_json_is_one_object(name):
    result = run_dmodel(*name.split(), "--json", "--no-such-option")
    assert result.returncode == 2
    payload = one_json_object(result.stdout)
    assert payload["ok"] is False
    assert payload["error"]["message"]
    assert f"dmodel {name} --help" in payload["error"]["fix"]
    assert "Traceback" not in result.stderr


def test_every_command_offers_json():
    missing = [name for name, parser in subcommands().items()
               if not any("--json" in action.option_strings for action in parser._actions)]
    assert missing == []


# 500 tables

def large_model() -> Model:
    """A model of 500 tables: a binary tree of CASCADE foreign keys, each table with two seed rows."""
    entities, seed = [], {}
    for number in range(TABLES):
        name = f"table_{number:03d}"
        columns = [Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
                   Column(name="label", logical_type="text", sqlite_type="TEXT", nullable=False)]
        foreign_keys, indexes = [], []
        if number:
            parent = f"table_{(number - 1) // 2:03d}"
            columns.append(Column(name="parent_id", logical_type="integer", sqlite_type="INTEGER", nullable=False))
            foreign_keys.append(ForeignKey(columns=["parent_id"], ref_table=parent, ref_columns=["id"],
                                           on_delete="CASCADE", reason="owned child"))
            indexes.append(Index(name=f"idx_{name}__parent_id", columns=["parent_id"], reason="foreign key"))
        entities.append(Entity(name=name, columns=columns, primary_key=["id"], foreign_keys=foreign_keys,
                               indexes=indexes))
        rows = [[row, f"row {row} of {name}"] + ([row] if number else []) for row in (1, 2)]
        seed[name] = SeedTable(columns=[column.name for column in columns], rows=rows)
    return Model(name="large", entities=entities, seed=seed)


def test_generate_json_small_for_500_tables(tmp_path):
    model_path = tmp_path / "model.json"
    model_path.write_text(large_model().to_json(), encoding="utf-8")
    result = run_script("generate_sql.py", str(model_path), "-o", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.encode("utf-8")) < JSON_LIMIT
    payload = one_json_object(result.stdout)
    assert payload["ok"] is True
    assert payload["tables"] == TABLES
    assert (tmp_path / "out" / "schema.sql").read_text(encoding="utf-8").count("CREATE TABLE") == TABLES


def test_generate_check_after_generate_is_clean(tmp_path):
    model_path = tmp_path / "model.json"
    model_path.write_text(large_model().to_json(), encoding="utf-8")
    first = run_script("generate_sql.py", str(model_path), "-o", str(tmp_path / "out"), "--json")
    assert first.returncode == 0, first.stderr
    checked = run_script("generate_sql.py", str(model_path), "-o", str(tmp_path / "out"), "--check", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert one_json_object(checked.stdout)["ok"] is True


def large_discovery() -> dict:
    """500 declared entities, each with a relationship to an undeclared entity (one warning each)."""
    entities = []
    for number in range(TABLES):
        entities.append({
            "name": f"thing_{number:03d}",
            "fields": [{"name": "code", "type": "text", "required": True, "unique": True},
                       {"name": "note", "type": "text"}],
            "relationships": [{"target": f"missing_{number:03d}", "cardinality": "N:1"}],
        })
    return {"format": "dmodel.discovery/v1", "entities": entities}


def test_design_json_small_for_500_tables(tmp_path):
    source = tmp_path / "discovery.json"
    source.write_text(json.dumps(large_discovery()), encoding="utf-8")
    result = run_script("design_schema.py", str(source), "-o", str(tmp_path / "model.json"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout.encode("utf-8")) < JSON_LIMIT
    payload = one_json_object(result.stdout)
    assert payload["ok"] is True
    assert payload["tables"] == TABLES
    model = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert len(model["report"]["warnings"]) >= TABLES, "the full report stays in model.json"


# Bad input

def test_design_missing_input_is_json_error(tmp_path):
    result = run_script("design_schema.py", str(tmp_path / "absent.json"), "-o", str(tmp_path / "model.json"),
                        "--json")
    assert result.returncode == 2
    payload = one_json_object(result.stdout)
    assert payload["ok"] is False
    assert payload["error"]["file"] == str(tmp_path / "absent.json")
    assert payload["error"]["fix"]
    assert not (tmp_path / "model.json").exists()
    assert "Traceback" not in result.stderr


def test_design_invalid_json_names_line(tmp_path):
    source = tmp_path / "discovery.json"
    source.write_text('{"entities": [\n  {"name": "a",}\n]}\n', encoding="utf-8")
    result = run_script("design_schema.py", str(source), "-o", str(tmp_path / "model.json"), "--json")
    assert result.returncode == 2
    payload = one_json_object(result.stdout)
    assert payload["ok"] is False
    assert "line 2" in payload["error"]["place"]


def test_generate_invalid_model_is_json_error(tmp_path):
    model_path = tmp_path / "model.json"
    model_path.write_text(json.dumps({"format": "dmodel.model/v1", "name": "x", "entities": [{"name": 3}]}),
                          encoding="utf-8")
    result = run_script("generate_sql.py", str(model_path), "-o", str(tmp_path / "out"), "--json")
    assert result.returncode == 2
    payload = one_json_object(result.stdout)
    assert payload["ok"] is False
    assert payload["error"]["message"]
    assert payload["error"]["fix"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "schema.sql").exists()


# Questions and their hints

WAREHOUSE_ORDERS = [
    {"order_id": number, "warehouse_id": warehouse, "warehouse_name": name, "warehouse_city": city, "total": "1.00"}
    for number, (warehouse, name, city) in enumerate([
        ("W1", "North", "Oslo"), ("W1", "North", "Oslo"), ("W2", "South", "Rome"), ("W3", "East", "Riga"),
        ("W4", "West", "Lima")], start=1)
]
USERS = [{"user_id": f"U{number}", "name": name} for number, name in enumerate("ABCDE", start=1)]
ORDERS_BY_USER = [{"order_id": number, "user_id": user, "total": "1.00"}
                  for number, user in enumerate(["U1", "U2", "U3", "U4", "U5", "U1", "U2", "U3", "U4", "U9"], start=1)]


def write_samples(tmp_path, samples):
    """Write each record list to its own JSON file and return the paths, as design inputs."""
    for name, records in samples.items():
        (tmp_path / name).write_text(json.dumps(records), encoding="utf-8")
    return [str(tmp_path / name) for name in samples]


@pytest.mark.parametrize("samples, code", [
    pytest.param({"orders.json": WAREHOUSE_ORDERS}, "Q302", id="split"),
    pytest.param({"users.json": USERS, "orders.json": ORDERS_BY_USER}, "Q101", id="reference"),
])
def test_question_hint_answers_question(tmp_path, samples, code):
    inputs = write_samples(tmp_path, samples)
    first = run_script("design_schema.py", *inputs, "-o", str(tmp_path / "model.json"), "--json")
    assert first.returncode == 0, first.stderr
    matching = [question for question in one_json_object(first.stdout)["questions"] if question["code"] == code]
    assert len(matching) == 1

    (tmp_path / "hints.json").write_text(json.dumps(matching[0]["hint"]), encoding="utf-8")
    second = run_script("design_schema.py", *inputs, "-o", str(tmp_path / "model.json"),
                        "--hints", str(tmp_path / "hints.json"), "--json")
    assert second.returncode == 0, second.stderr
    remaining = [question["code"] for question in one_json_object(second.stdout)["questions"]]
    assert code not in remaining


@pytest.mark.parametrize("samples", [
    pytest.param({"orders.json": WAREHOUSE_ORDERS}, id="warehouses"),
    pytest.param({"users.json": USERS, "orders.json": ORDERS_BY_USER}, id="users"),
    pytest.param({}, id="example"),
])
def test_question_hints_are_valid_hints(tmp_path, samples):
    # A question's hint is pasted into the hints file as it is, so it must validate there.
    inputs = write_samples(tmp_path, samples) or [str(ROOT / "fixtures" / "example" / "discovery.json")]
    result = run_script("design_schema.py", *inputs, "-o", str(tmp_path / "model.json"), "--json")
    assert result.returncode == 0, result.stderr
    questions = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))["report"]["questions"]
    for question in questions:
        try:
            Hints.model_validate(question["hint"])
        except ValidationError as error:
            raise AssertionError(f"question {question['code']} ({question['subject']}) offers a hint that "
                                 f"the hints file rejects: {question['hint']}: {error}") from None


# Bad input never ends in a traceback

BAD_INPUTS = [
    pytest.param("empty.json", "", id="empty-json"),
    pytest.param("broken.json", '{"entities": [', id="truncated-json"),
    pytest.param("scalar.json", "42", id="json-scalar"),
    pytest.param("records.ndjson", '{"a": 1}\nnot json\n', id="ndjson-bad-line"),
    pytest.param("data.xlsx", "PK\x03\x04", id="unsupported-extension"),
    pytest.param("latin1.csv", "name\ncaf\xe9\n", id="csv-not-utf8"),
    pytest.param("garbage.sql", "CREATE TABLE (;", id="sql-garbage"),
    pytest.param("dataset.json", '{"datasets": [{"name": "x", "path": "missing.csv"}]}', id="dataset-path-missing"),
]


@pytest.mark.parametrize("name, content", BAD_INPUTS)
def test_design_bad_input_is_json_error(tmp_path, name, content):
    source = tmp_path / name
    source.write_bytes(content.encode("latin-1"))
    result = run_script("design_schema.py", str(source), "-o", str(tmp_path / "model.json"), "--json")
    payload = json_error(result)
    assert payload["error"]["file"]
    assert not (tmp_path / "model.json").exists()


def test_design_guesses_postgres_dialect(tmp_path):
    source = tmp_path / "dump.sql"
    source.write_text("CREATE TABLE customers (id SERIAL PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE);\n"
                      "INSERT INTO customers (id, email) VALUES (1, 'a@example.com');\n", encoding="utf-8")
    result = run_script("design_schema.py", str(source), "-o", str(tmp_path / "model.json"), "--json")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0
    assert one_json_object(result.stdout)["tables"] == 1


def entity(name, columns, primary_key=("id",), **fields):
    return {"name": name, "columns": [{"name": column, "sqlite_type": "INTEGER"} for column in columns],
            "primary_key": list(primary_key), **fields}


BAD_MODELS = [
    pytest.param("{", None, id="truncated-json"),
    pytest.param(json.dumps({"format": "dmodel.model/v9", "name": "x", "entities": []}), "$.format", id="format-version"),
    pytest.param(json.dumps({"name": "x", "entities": [entity("wide", ["id", *(f"c{n}" for n in range(101))])]}),
                 None, id="over-100-columns"),
    pytest.param(json.dumps({"name": "x", "entities": [entity("a", ["id", "b_id"], foreign_keys=[
        {"columns": ["b_id"], "ref_table": "nope", "ref_columns": ["id"]}])]}), None, id="unknown-parent"),
    pytest.param(json.dumps({"name": "x", "entities": [entity("a", ["id"], primary_key=["missing"])]}), None,
                 id="unknown-key-column"),
]


@pytest.mark.parametrize("text, place", BAD_MODELS)
def test_generate_bad_model_is_json_error(tmp_path, text, place):
    model_path = tmp_path / "model.json"
    model_path.write_text(text, encoding="utf-8")
    result = run_script("generate_sql.py", str(model_path), "-o", str(tmp_path / "out"), "--json")
    payload = json_error(result)
    if place is not None:
        assert payload["error"]["place"] == place
    assert not (tmp_path / "out" / "migrations").exists()
