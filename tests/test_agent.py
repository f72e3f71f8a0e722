"""The headless runner, driven offline by scripted Messages API conversations."""

from __future__ import annotations

import http.server as http_server
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

from dmodel import agent, cli
from dmodel.apply import ApplyResult

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "example" / "discovery.json"
API_KEY = "sk-ant-test-0123456789-secret"
http = agent.sdk_http_module()


def tool_use(call_id, name, arguments=None):
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments or {}}


def text(value):
    return {"type": "text", "text": value}


def message(*content, stop_reason="tool_use", input_tokens=100, output_tokens=20):
    return {"id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test",
            "content": list(content), "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


class ScriptedAPI:
    """A Messages API stand-in: each step receives the request body and returns the next response."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.requests = []
        self.headers = []
        self.failures = []

    def handler(self, request):
        assert request.url.path == "/v1/messages"
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if not self.steps:
            return http.Response(500, json={"type": "error", "error": {"type": "api_error",
                                                                       "message": "script exhausted"}})
        step = self.steps.pop(0)
        try:
            reply = step(body) if callable(step) else step
        except Exception as error:  # noqa: BLE001 - re-raised by run() once the SDK call returns
            # The SDK would retry on an exception from the transport; a 400 stops the run instead.
            self.failures.append(error)
            return http.Response(400, json={"type": "error", "error": {"type": "invalid_request_error",
                                                                       "message": f"script step failed: {error}"}})
        if isinstance(reply, tuple):
            status, payload = reply
            return http.Response(status, json=payload)
        return http.Response(200, json=reply)

    def transport(self):
        return http.MockTransport(self.handler)


def last_tool_results(body):
    """Return {tool_use_id: tool_result block} from the last user message of a request."""
    content = body["messages"][-1]["content"]
    return {block["tool_use_id"]: block for block in content if block.get("type") == "tool_result"}


def run(tmp_path, steps, discovery=None, **options):
    api = ScriptedAPI(steps)
    out = tmp_path / "out"
    if discovery is None:
        discovery = tmp_path / "discovery.json"
        discovery.write_text(json.dumps({"entities": [{"name": "customers", "fields": [{"name": "email"}]}]}),
                             encoding="utf-8")
    try:
        result = agent.run_agent(discovery, out, api_key=API_KEY, transport=api.transport(), **options)
    finally:
        if api.failures:
            raise api.failures[0]
    return api, out, result


def transcript_records(out):
    lines = (out / agent.TRANSCRIPT_NAME).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def write_migration(out, sql, seed=None):
    migrations = out / "migrations"
    migrations.mkdir(parents=True, exist_ok=True)
    (migrations / "0001_initial.sql").write_text(sql, encoding="utf-8")
    if seed is not None:
        (out / "seed.sql").write_text(seed, encoding="utf-8")


PARENT_CHILD_SQL = """\
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE) STRICT;
CREATE TABLE IF NOT EXISTS orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX IF NOT EXISTS idx_orders__customer_id ON orders (customer_id);
"""


# Requests and transcript

def test_request_carries_skill_tools_and_model(tmp_path):
    api, out, result = run(tmp_path, [message(text("Nothing to do."), stop_reason="end_turn")],
                           model="claude-test-model")
    body = api.requests[0]
    assert body["model"] == "claude-test-model"
    assert body["system"].startswith(agent.HEADLESS_PREAMBLE)
    assert "name: data-model-agent" not in body["system"]
    assert {tool["name"] for tool in body["tools"]} == {
        "design", "read_report", "write_hints", "generate", "verify", "read_file"}
    assert body["messages"][0]["role"] == "user"
    assert "discovery.json" in body["messages"][0]["content"]
    # Depending on the SDK release the key travels as x-api-key or as a bearer token.
    sent_key = api.headers[0].get("x-api-key") or api.headers[0].get("authorization", "").removeprefix("Bearer ")
    assert sent_key == API_KEY
    assert result.completed
    assert result.final_text == "Nothing to do."


def test_transcript_records_requests_and_responses(tmp_path):
    steps = [message(tool_use("call_1", "read_file", {"path": "nothing.txt"})),
             message(text("Done."), stop_reason="end_turn", input_tokens=7, output_tokens=3)]
    api, out, result = run(tmp_path, steps)
    records = transcript_records(out)
    assert [record["type"] for record in records] == ["start", "request", "response", "request", "response",
                                                      "stop"]
    assert records[3]["messages"] == api.requests[1]["messages"]
    assert records[4]["response"]["content"] == [text("Done.")]
    assert records[-1]["stop_reason"] == "end_turn"
    assert records[-1]["input_tokens"] == 107
    assert records[-1]["output_tokens"] == 23


def test_api_key_never_written(tmp_path, capsys):
    steps = [message(tool_use("call_1", "write_hints", {"hints": {"rename": {"customers": "clients"}}})),
             message(tool_use("call_2", "read_file", {"path": "hints.json"})),
             message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    captured = capsys.readouterr()
    assert API_KEY not in captured.out
    assert API_KEY not in captured.err
    for path in out.rglob("*"):
        if path.is_file():
            assert API_KEY not in path.read_text(encoding="utf-8"), path


def test_transcript_masks_key_echoed_by_model(tmp_path):
    steps = [message(text(f"The key is {API_KEY}."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    transcript = (out / agent.TRANSCRIPT_NAME).read_text(encoding="utf-8")
    assert API_KEY not in transcript
    assert "[redacted]" in transcript


# Limits

def test_turn_limit_stops_loop(tmp_path):
    looping = [message(tool_use(f"call_{n}", "read_file", {"path": "missing.sql"})) for n in range(10)]
    api, out, result = run(tmp_path, looping, max_turns=3)
    assert result.stop_reason == "max_turns"
    assert not result.completed
    assert result.turns == 3
    assert len(api.requests) == 3
    assert transcript_records(out)[-1]["stop_reason"] == "max_turns"


def test_token_budget_stops_loop(tmp_path):
    costly = [message(tool_use(f"call_{n}", "read_file", {"path": "x"}), input_tokens=600, output_tokens=100)
              for n in range(10)]
    api, out, result = run(tmp_path, costly, max_tokens_total=1_500)
    assert result.stop_reason == "token_budget"
    assert len(api.requests) == 3
    assert result.input_tokens + result.output_tokens == 2_100


def test_response_max_tokens_capped_by_budget(tmp_path):
    steps = [message(tool_use("call_1", "read_file", {"path": "x"}), input_tokens=900, output_tokens=50),
             message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps, max_tokens_total=1_000)
    assert api.requests[0]["max_tokens"] == 1_000
    assert api.requests[1]["max_tokens"] == 50


# Tool errors

def test_unknown_tool_returns_error_result(tmp_path):
    steps = [message(tool_use("call_1", "drop_database")),
             lambda body: message(text("Recovered."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    error = last_tool_results(api.requests[1])["call_1"]
    assert error["is_error"] is True
    assert "unknown tool 'drop_database'" in error["content"]
    assert result.tool_errors == 1
    assert result.completed


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/hostname", "migrations/../../outside.txt", ""])
def test_read_file_confined_to_output(tmp_path, path):
    (tmp_path / "outside.txt").write_text("secret", encoding="utf-8")
    steps = [message(tool_use("call_1", "read_file", {"path": path})),
             message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    error = last_tool_results(api.requests[1])["call_1"]
    assert error["is_error"] is True
    assert "secret" not in error["content"]


def test_invalid_hints_rejected_then_corrected(tmp_path):
    steps = [message(tool_use("call_1", "write_hints", {"hints": {"renames": {"deals": "opportunities"}}})),
             message(tool_use("call_2", "write_hints", {"hints": {"rename": {"deals": "opportunities"}}})),
             message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    error = last_tool_results(api.requests[1])["call_1"]
    assert error["is_error"] is True
    assert "hints.renames" in error["content"]
    assert "rename" in error["content"]
    assert "is_error" not in last_tool_results(api.requests[2])["call_2"]
    assert json.loads((out / "hints.json").read_text(encoding="utf-8")) == {"rename": {"deals": "opportunities"}}


def test_read_report_before_design_is_error(tmp_path):
    steps = [message(tool_use("call_1", "read_report")), message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    error = last_tool_results(api.requests[1])["call_1"]
    assert error["is_error"] is True
    assert "call design first" in error["content"]


def test_several_tool_calls_in_one_turn(tmp_path):
    steps = [message(tool_use("call_1", "verify"), tool_use("call_2", "read_file", {"path": "x.sql"})),
             message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    results = last_tool_results(api.requests[1])
    assert list(results) == ["call_1", "call_2"]
    assert "call generate first" in results["call_1"]["content"]
    assert result.tool_calls == 2


# API failures

def test_rejected_key_is_input_error(tmp_path):
    steps = [(401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})]
    with pytest.raises(agent.InputError) as caught:
        run(tmp_path, steps)
    assert caught.value.exit_status == 2
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_unknown_model_is_input_error(tmp_path):
    steps = [(404, {"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}})]
    with pytest.raises(agent.InputError) as caught:
        run(tmp_path, steps, model="nope")
    assert "--model" in str(caught.value)


# verify

def verify(tmp_path, seed=None, rollback=None):
    """Write the parent/child migration (and a seed and rollback), then call the verify tool."""
    out = tmp_path / "out"
    write_migration(out, PARENT_CHILD_SQL, seed=seed)
    if rollback is not None:
        (out / "migrations" / "rollback").mkdir()
        (out / "migrations" / "rollback" / "0001_initial.sql").write_text(rollback, encoding="utf-8")
    return json.loads(agent.Workspace(tmp_path / "discovery.json", out).call("verify", {}))


def test_verify_applies_migration_and_seed(tmp_path):
    report = verify(tmp_path, rollback="DROP TABLE orders;\nDROP TABLE customers;\n", seed="INSERT INTO customers VALUES (1, 'a@example.com');\n"
                                   "INSERT INTO orders VALUES (1, 1);\n")
    assert report["ok"] is True
    assert report["applied"] == ["migrations/0001_initial.sql", "seed.sql"]
    assert report["tables"] == {"customers": 1, "orders": 1}


def test_verify_reports_violations(tmp_path, monkeypatch):
    # D1 runs each file in a transaction where foreign keys cannot be turned off, so no SQL file
    # can leave a dangling reference behind. The check's result is stubbed to test the report.
    def apply_with_violation(database, files):
        return ApplyResult(applied=[str(path) for path in files], row_counts={"orders": 1},
                                       foreign_key_violations=[("orders", 1, "customers", 0)])

    monkeypatch.setattr(agent, "apply_files", apply_with_violation)
    report = verify(tmp_path)
    assert report["ok"] is False
    assert report["foreign_key_violation_count"] == 1
    assert report["foreign_key_violations"][0] == {"table": "orders", "rowid": 1, "parent": "customers",
                                                   "foreign_key": 0}


def test_verify_ignores_foreign_keys_off(tmp_path):
    with pytest.raises(agent.ToolError, match="FOREIGN KEY constraint failed"):
        verify(tmp_path, seed="PRAGMA foreign_keys = OFF;\nINSERT INTO orders VALUES (1, 42);\n")


def test_verify_names_failing_file(tmp_path):
    with pytest.raises(agent.ToolError, match="seed.sql: SQLite rejected the file: FOREIGN KEY constraint failed"):
        verify(tmp_path, seed="INSERT INTO orders VALUES (1, 42);\n")


def test_verify_ignores_rollback_folder(tmp_path):
    report = verify(tmp_path, rollback="DROP TABLE orders;\nDROP TABLE customers;\n")
    assert report["applied"] == ["migrations/0001_initial.sql"]
    assert set(report["tables"]) == {"customers", "orders"}


def test_verify_runs_rollback(tmp_path):
    report = verify(tmp_path, rollback="DROP TABLE IF EXISTS orders;\nDROP TABLE IF EXISTS customers;\n")
    assert report["rollback"] == {"ok": True, "tables_left": []}
    assert report["ok"] is True


def test_verify_reports_missing_rollback(tmp_path):
    report = verify(tmp_path)
    assert report["rollback"] == {"ok": False, "missing": ["migrations/rollback/0001_initial.sql"]}
    assert report["ok"] is False


def test_verify_reports_incomplete_rollback(tmp_path):
    report = verify(tmp_path, rollback="DROP TABLE orders;\n")
    assert report["rollback"] == {"ok": False, "tables_left": ["customers"]}
    assert report["ok"] is False


def test_verify_reports_failing_rollback(tmp_path):
    # A rollback that drops a table the migration never created fails, and the report carries SQLite's message.
    report = verify(tmp_path, rollback="DROP TABLE invoices;\n")
    assert report["rollback"]["ok"] is False
    assert "no such table: invoices" in report["rollback"]["error"]


# The command

@pytest.fixture
def empty_discovery(tmp_path):
    path = tmp_path / "discovery.json"
    path.write_text("{}", encoding="utf-8")
    return path


def test_command_without_key_exits_2(tmp_path, empty_discovery, monkeypatch, capsys):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    status = cli.main(["agent", str(empty_discovery), "-o", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    assert status == 2
    payload = json.loads(captured.out)
    assert payload["ok"] is False
    assert "ANTHROPIC_API_KEY" in payload["error"]["message"]
    assert "export ANTHROPIC_API_KEY" in payload["error"]["fix"]
    assert not (tmp_path / "out").exists()


def test_command_missing_discovery_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    status = cli.main(["agent", str(tmp_path / "nope.json"), "-o", str(tmp_path / "out")])
    assert status == 2
    assert "nope.json" in capsys.readouterr().err


@pytest.fixture
def scripted_command(monkeypatch):
    """Point ``dmodel agent`` at a scripted API and return a function that sets the script."""
    build_client = agent.build_client
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)

    def install(steps):
        api = ScriptedAPI(steps)
        monkeypatch.setattr(agent, "build_client", lambda key, transport=None: build_client(key, api.transport()))
        return api

    return install


def test_command_prints_outcome_json(tmp_path, empty_discovery, scripted_command, capsys):
    scripted_command([message(tool_use("call_1", "write_hints", {"hints": {}})),
                      message(text("Done."), stop_reason="end_turn")])
    status = cli.main(["agent", str(empty_discovery), "-o", str(tmp_path / "out"), "--max-turns", "5", "--json"])
    captured = capsys.readouterr()
    assert status == 0
    payload = json.loads(captured.out)
    assert payload["ok"] is True
    assert payload["turns"] == 2
    assert payload["files"] == [agent.TRANSCRIPT_NAME, "hints.json"]
    assert payload["final_text"] == "Done."
    assert payload["questions_open"] is None
    assert API_KEY not in captured.out + captured.err


def test_command_output_file_exits_2(tmp_path, empty_discovery, scripted_command, capsys):
    occupied = tmp_path / "occupied"
    occupied.write_text("not a folder", encoding="utf-8")
    status = cli.main(["agent", str(empty_discovery), "-o", str(occupied), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert status == 2
    assert payload["error"]["file"] == str(occupied)


def test_command_turn_limit_exits_1(tmp_path, empty_discovery, scripted_command, capsys):
    scripted_command([message(tool_use(f"call_{n}", "read_file", {"path": "x"})) for n in range(5)])
    status = cli.main(["agent", str(empty_discovery), "-o", str(tmp_path / "out"), "--max-turns", "2", "--json"])
    captured = capsys.readouterr()
    assert status == 1
    payload = json.loads(captured.out)
    assert payload["ok"] is False
    assert payload["stop_reason"] == "max_turns"
    assert "stopped (max_turns) after 2 turns" in captured.err


def test_command_rejects_zero_turns(tmp_path, empty_discovery, scripted_command, capsys):
    status = cli.main(["agent", str(empty_discovery), "-o", str(tmp_path / "out"), "--max-turns", "0"])
    assert status == 2
    assert "--max-turns must be at least 1" in capsys.readouterr().err


def test_cli_help_does_not_import_sdk():
    # Importing the SDK takes seconds; only `dmodel agent` itself should pay for it.
    probe = "import sys, dmodel.cli; dmodel.cli.build_parser(); print('anthropic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# End to end on the bundled example: the tools run the real design, generate and apply.




def tool_result_of(body, call_id):
    result = last_tool_results(body)[call_id]
    assert "is_error" not in result, result["content"]
    return result["content"]


def after(call_id, reply):
    """Return a step that first requires the tool call ``call_id`` to have succeeded."""
    def step(body):
        tool_result_of(body, call_id)
        return reply
    return step


class ExampleSession:
    """A scripted session: design, answer a question with hints (after one invalid try), generate, verify."""

    def __init__(self, code=None):
        self.code = code
        self.question = None
        self.hints = None

    def answer(self, body):
        report = json.loads(tool_result_of(body, "call_report"))
        questions = [question for question in report["questions"] if question["code"] == self.code]
        self.question = questions[0] if questions else None
        # Without the question to answer, rename a table, which design must apply everywhere.
        self.hints = self.question["hint"] if self.question else {"rename": {"deals": "opportunities"}}
        return message(text("Answering the first question."),
                       tool_use("call_bad_hints", "write_hints", {"hints": {"renamed": {"deals": "opportunities"}}}))

    def steps(self):
        return [
            message(tool_use("call_design", "design")),
            after("call_design", message(tool_use("call_report", "read_report", {"section": "questions"}))),
            self.answer,
            lambda body: message(tool_use("call_hints", "write_hints", {"hints": self.hints})),
            after("call_hints", message(tool_use("call_design_again", "design"))),
            after("call_design_again", message(tool_use("call_generate", "generate"))),
            after("call_generate", message(tool_use("call_verify", "verify"))),
            after("call_verify", message(text("Schema generated and verified."), stop_reason="end_turn")),
        ]


# Five orders in which warehouse_id determines the warehouse's name and city, but only one
# warehouse repeats: too little support to split on its own, so design raises a question.
WAREHOUSE_ORDERS = [
    {"order_id": 1, "warehouse_id": "W1", "warehouse_name": "North", "warehouse_city": "Oslo", "total": "10.00"},
    {"order_id": 2, "warehouse_id": "W1", "warehouse_name": "North", "warehouse_city": "Oslo", "total": "12.50"},
    {"order_id": 3, "warehouse_id": "W2", "warehouse_name": "South", "warehouse_city": "Rome", "total": "7.25"},
    {"order_id": 4, "warehouse_id": "W3", "warehouse_name": "East", "warehouse_city": "Riga", "total": "3.00"},
    {"order_id": 5, "warehouse_id": "W4", "warehouse_name": "West", "warehouse_city": "Lima", "total": "9.99"},
]


def test_question_answered_with_its_hint(tmp_path):
    source = tmp_path / "orders.json"
    source.write_text(json.dumps(WAREHOUSE_ORDERS), encoding="utf-8")
    session = ExampleSession("Q302")
    api, out, result = run(tmp_path, session.steps(), discovery=source)

    assert result.completed
    assert session.question is not None, "design asks whether the warehouses are an entity"
    assert json.loads((out / "hints.json").read_text(encoding="utf-8")) == session.hints
    model = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert "Q302" not in [question["code"] for question in model["report"]["questions"]]
    assert sorted(entity["name"] for entity in model["entities"]) == ["orders", "warehouses"]
    verified = json.loads(last_tool_results(api.requests[7])["call_verify"]["content"])
    assert verified["ok"] is True
    assert verified["tables"]["warehouses"] == 4


def test_example_session_end_to_end(tmp_path):
    session = ExampleSession()
    api, out, result = run(tmp_path, session.steps(), discovery=EXAMPLE)

    assert result.completed, transcript_records(out)[-1]
    assert result.turns == 8
    assert result.tool_calls == 7
    assert result.tool_errors == 1

    invalid = last_tool_results(api.requests[3])["call_bad_hints"]
    assert invalid["is_error"] is True
    assert "hints.renamed" in invalid["content"]

    assert json.loads((out / "hints.json").read_text(encoding="utf-8")) == session.hints
    model = json.loads((out / "model.json").read_text(encoding="utf-8"))
    if session.question is not None:
        remaining = [(question["code"], question["subject"]) for question in model["report"]["questions"]]
        assert (session.question["code"], session.question["subject"]) not in remaining
    else:
        tables = {entity["name"] for entity in model["entities"]}
        assert "opportunities" in tables
        assert "deals" not in tables

    for name in ("schema.sql", "seed.sql", "erd.mmd", "indexes.md", "schema.md"):
        assert (out / name).is_file(), name
    migrations = sorted(path.name for path in (out / "migrations").glob("*.sql"))
    assert len(migrations) == 1
    assert (out / "migrations" / "rollback" / migrations[0]).is_file()

    verified = json.loads(last_tool_results(api.requests[7])["call_verify"]["content"])
    assert verified["ok"] is True
    assert verified["applied"] == [f"migrations/{migrations[0]}", "seed.sql"]
    assert sum(verified["tables"].values()) > 0

    records = transcript_records(out)
    assert [record["type"] for record in records].count("request") == 8
    assert [record["type"] for record in records].count("response") == 8
    assert API_KEY not in (out / agent.TRANSCRIPT_NAME).read_text(encoding="utf-8")


def test_example_session_stops_at_turn_limit(tmp_path):
    steps = [message(tool_use("call_design", "design"))]
    steps += [message(tool_use(f"call_report_{n}", "read_report")) for n in range(10)]
    api, out, result = run(tmp_path, steps, discovery=EXAMPLE, max_turns=3)

    assert result.stop_reason == "max_turns"
    assert result.turns == 3
    assert (out / "model.json").is_file()
    assert not (out / "schema.sql").exists()
    assert tool_result_of(api.requests[2], "call_report_0")
    records = transcript_records(out)
    assert records[-1] == {**records[-1], "type": "stop", "stop_reason": "max_turns", "turns": 3}


def test_example_session_evolves_with_rename(tmp_path):
    rename = {"rename": {"deals": "opportunities"}}
    steps = [
        message(tool_use("call_design", "design")),
        after("call_design", message(tool_use("call_generate", "generate"))),
        after("call_generate", message(tool_use("call_hints", "write_hints", {"hints": rename}))),
        after("call_hints", message(tool_use("call_design_again", "design"))),
        after("call_design_again", message(tool_use("call_generate_again", "generate"))),
        after("call_generate_again", message(tool_use("call_verify", "verify"))),
        after("call_verify", message(text("Renamed deals."), stop_reason="end_turn")),
    ]
    api, out, result = run(tmp_path, steps, discovery=EXAMPLE)

    assert result.completed
    migrations = sorted(path.name for path in (out / "migrations").glob("*.sql"))
    assert [name[:5] for name in migrations] == ["0001_", "0002_"]
    second = (out / "migrations" / migrations[1]).read_text(encoding="utf-8")
    assert "ALTER TABLE deals RENAME TO opportunities;" in second
    assert "DROP TABLE" not in second

    verified = json.loads(last_tool_results(api.requests[6])["call_verify"]["content"])
    assert verified["ok"] is True
    assert "opportunities" in verified["tables"]
    assert verified["rollback"] == {"ok": True, "tables_left": []}


def test_command_reports_open_questions(tmp_path, scripted_command, capsys):
    source = tmp_path / "orders.json"
    source.write_text(json.dumps(WAREHOUSE_ORDERS), encoding="utf-8")
    scripted_command([message(tool_use("call_design", "design")),
                      after("call_design", message(text("One question left."), stop_reason="end_turn"))])
    status = cli.main(["agent", str(source), "-o", str(tmp_path / "out"), "--json"])
    payload = json.loads(capsys.readouterr().out)
    report = json.loads((tmp_path / "out" / "model.json").read_text(encoding="utf-8"))["report"]
    assert status == 0
    assert payload["questions_open"] == len(report["questions"])
    assert payload["questions_open"] >= 1
    assert payload["warnings"] == len(report["warnings"])
    assert "model.json" in payload["files"]


class FakeMessagesServer:
    """A Messages API stand-in on 127.0.0.1 for running `dmodel agent` as a real process."""

    def __init__(self, replies):
        api = ScriptedAPI(replies)

        class Handler(http_server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = http.Request("POST", f"http://127.0.0.1{self.path}", headers=dict(self.headers),
                                       content=body)
                response = api.handler(request)
                payload = response.content
                self.send_response(response.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
                pass

        self.api = api
        self.server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()


def test_agent_process_against_local_server(tmp_path):
    replies = [message(tool_use("call_design", "design")),
               after("call_design", message(tool_use("call_generate", "generate"))),
               after("call_generate", message(text("Designed and generated."), stop_reason="end_turn"))]
    server = FakeMessagesServer(replies)
    environment = {**os.environ, "ANTHROPIC_API_KEY": API_KEY, "NO_PROXY": "127.0.0.1"}
    with server as base_url:
        environment["ANTHROPIC_BASE_URL"] = base_url
        result = subprocess.run([sys.executable, "-m", "dmodel", "agent", str(EXAMPLE), "-o", str(tmp_path / "out"),
                                 "--max-turns", "5", "--json"], cwd=ROOT, env=environment, capture_output=True,
                                text=True, timeout=300)

    assert server.api.failures == []
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert payload["turns"] == 3
    assert "schema.sql" in payload["files"]
    assert API_KEY not in result.stdout + result.stderr
    assert len(server.api.requests) == 3


def test_non_object_tool_input_is_error(tmp_path):
    steps = [message({"type": "tool_use", "id": "call_1", "name": "read_file", "input": ["schema.sql"]}),
             message(text("Done."), stop_reason="end_turn")]
    api, out, result = run(tmp_path, steps)
    error = last_tool_results(api.requests[1])["call_1"]
    assert error["is_error"] is True
    assert "must be a JSON object" in error["content"]


def test_generate_passes_backfill(tmp_path, monkeypatch):
    calls = []

    def record_call(argv):
        calls.append(argv)
        return 0, '{"ok": true}', ""

    monkeypatch.setattr(agent, "run_cli", record_call)
    workspace = agent.Workspace(tmp_path / "discovery.json", tmp_path / "out")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.json").write_text("{}", encoding="utf-8")
    workspace.call("generate", {"backfill": {"orders.status": "'open'", "orders.count": "0"}})
    assert calls[0][-4:] == ["--backfill", "orders.count=0", "--backfill", "orders.status='open'"]
    with pytest.raises(agent.ToolError, match="backfill must be an object"):
        workspace.call("generate", {"backfill": {"orders.count": 0}})
