"""The published JSON Schemas match the pydantic models they come from."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from dmodel import schemas
from dmodel.discovery import Discovery
from dmodel.hints import Hints
from dmodel.model import Model

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGENERATE = "run 'python -m dmodel.schemas' and commit the files in schemas/"


@pytest.mark.parametrize("name", sorted(schemas.SCHEMA_MODELS))
def test_committed_schema_is_current(name):
    committed = ROOT / "schemas" / name
    assert committed.is_file(), f"schemas/{name} is missing: {REGENERATE}"
    expected = schemas.render_schema(schemas.SCHEMA_MODELS[name])
    assert committed.read_text(encoding="utf-8") == expected, (
        f"schemas/{name} is stale (its model changed): {REGENERATE}")


@pytest.mark.parametrize("name", sorted(schemas.SCHEMA_MODELS))
def test_schema_text_is_canonical(name):
    raw = (ROOT / "schemas" / name).read_bytes()
    assert b"\r" not in raw
    assert raw.endswith(b"}\n")
    document = json.loads(raw)
    assert raw.decode("utf-8") == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_render_is_deterministic():
    assert schemas.render_all() == schemas.render_all()


@pytest.mark.parametrize("model", [Discovery, Hints, Model])
def test_schema_lists_every_field(model):
    name = next(key for key, value in schemas.SCHEMA_MODELS.items() if value is model)
    document = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    assert document["$schema"] == schemas.JSON_SCHEMA_DIALECT
    assert document["title"] == model.__name__
    assert set(document["properties"]) == set(model.model_fields)


def test_hints_schema_rejects_unknown_keys():
    document = json.loads((ROOT / "schemas" / "hints.schema.json").read_text(encoding="utf-8"))
    assert document["additionalProperties"] is False


def test_discovery_schema_keeps_unknown_keys():
    document = json.loads((ROOT / "schemas" / "discovery.schema.json").read_text(encoding="utf-8"))
    assert document["additionalProperties"] is True


def test_model_schema_requires_name_and_entities():
    document = json.loads((ROOT / "schemas" / "model.schema.json").read_text(encoding="utf-8"))
    assert set(document["required"]) == {"name", "entities"}
    assert document["properties"]["format"]["const"] == "dmodel.model/v1"


def test_module_writes_then_check_passes(tmp_path):
    command = [sys.executable, "-m", "dmodel.schemas", "--dir", str(tmp_path)]
    written = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(schemas.SCHEMA_MODELS)
    checked = subprocess.run([*command, "--check"], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_module_check_reports_stale_file(tmp_path):
    schemas.write_all(tmp_path)
    (tmp_path / "hints.schema.json").write_text("{}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "dmodel.schemas", "--dir", str(tmp_path), "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "hints.schema.json: stale" in result.stderr
    assert "python -m dmodel.schemas" in result.stderr
    assert "model.schema.json" not in result.stderr
