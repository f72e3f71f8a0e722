"""Bad input: a message naming the file, the place and the fix, exit status 2, and no output files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli


def design(tmp_path: Path, name: str, content: str | bytes, *extra: str):
    source = tmp_path / name
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, encoding="utf-8")
    out = tmp_path / "out" / "model.json"
    return run_cli("design", source, "-o", out, *extra), source, out


def assert_rejected(result, out: Path, *fragments: str) -> None:
    assert result.status == 2, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert not out.exists()


def test_malformed_json(tmp_path):
    result, source, out = design(tmp_path, "bad.json", '[{"a": 1},\n {"a": }]')
    assert_rejected(result, out, str(source), "line 2")


def test_ragged_csv(tmp_path):
    result, source, out = design(tmp_path, "ragged.csv", "a,b,c\n1,2,3\n4,5\n")
    assert_rejected(result, out, str(source), "line 3")


def test_unknown_format(tmp_path):
    result, source, out = design(tmp_path, "data.xlsx", b"PK\x03\x04")
    assert_rejected(result, out, str(source), "--format")


def test_empty_dataset(tmp_path):
    result, source, out = design(tmp_path, "empty.csv", "a,b\n")
    assert_rejected(result, out, str(source))


def test_empty_json_array(tmp_path):
    result, source, out = design(tmp_path, "empty.json", "[]")
    assert_rejected(result, out, str(source))


def test_too_many_columns(tmp_path):
    header = ",".join(f"field_{number}" for number in range(120))
    rows = "\n".join(",".join(str(number * row) for number in range(120)) for row in range(1, 4))
    result, source, out = design(tmp_path, "wide.csv", header + "\n" + rows + "\n")
    assert_rejected(result, out, "100", "split")


def test_missing_input_file(tmp_path):
    out = tmp_path / "model.json"
    result = run_cli("design", tmp_path / "nope.json", "-o", out)
    assert_rejected(result, out, "nope.json")


def test_bad_hints_file(tmp_path):
    source = tmp_path / "data.json"
    source.write_text('[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]')
    hints = tmp_path / "hints.json"
    hints.write_text('{"renames": {}}')
    out = tmp_path / "model.json"
    result = run_cli("design", source, "-o", out, "--hints", hints)
    assert_rejected(result, out, str(hints), "renames")


def test_json_error_object(tmp_path):
    result, source, out = design(tmp_path, "bad.json", "{", "--json")
    assert result.status == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["error"]["file"] == str(source)


def test_generate_rejects_invalid_model(tmp_path):
    model = tmp_path / "model.json"
    model.write_text('{"format": "dmodel.model/v1", "name": "x", "entities": "nope"}')
    out = tmp_path / "out"
    result = run_cli("generate", model, "-o", out)
    assert result.status == 2
    assert "$.entities" in result.stderr
    assert not out.exists()


def test_generate_missing_model(tmp_path):
    result = run_cli("generate", tmp_path / "missing.json", "-o", tmp_path / "out")
    assert result.status == 2
    assert "design" in result.stderr


@pytest.mark.parametrize("args", [["design"], ["generate"], ["nonsense"]])
def test_usage_errors_exit_2(args):
    assert run_cli(*args).status == 2


def test_forced_type_that_does_not_fit(tmp_path):
    source = tmp_path / "items.json"
    source.write_text('[{"id": 1, "size": "large"}, {"id": 2, "size": "small"}]')
    hints = tmp_path / "hints.json"
    hints.write_text('{"types": {"items.size": "integer"}}')
    out = tmp_path / "model.json"
    result = run_cli("design", source, "-o", out, "--hints", hints)
    assert_rejected(result, out, "items.size", "integer")


def test_unwritable_output(tmp_path):
    source = tmp_path / "data.json"
    source.write_text('[{"id": 1}, {"id": 2}]')
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("design", source, "-o", blocker / "model.json")
    assert result.status == 2
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


def test_unterminated_csv_quote(tmp_path):
    result, source, out = design(tmp_path, "open.csv", 'a,b\n1,"never closed\n2,x\n')
    assert_rejected(result, out, str(source), "line 2", "never closed")


def test_records_without_fields(tmp_path):
    result, source, out = design(tmp_path, "blank.json", "[{}, {}]")
    assert_rejected(result, out, str(source), "no", "field")


def test_ambiguous_dates_warned(tmp_path):
    result, _, out = design(tmp_path, "events.csv", "id,day\n1,01/02/2026\n2,03/04/2026\n3,05/06/2026\n")
    assert result.status == 0, result.stderr
    assert "W103" in result.stderr
