"""Generated ER diagrams parsed by the real Mermaid parser (Node.js, from package-lock.json)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from dmodel.emit.mermaid import render_erd
from test_emit import hostile_model

PARSER = REPO / "tests" / "mermaid_parse.mjs"


def parse(*paths: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None:
        pytest.skip("node not found: the Mermaid parser runs on Node.js")
    if not (REPO / "node_modules" / "mermaid").is_dir():
        pytest.skip("node_modules/mermaid missing: run 'npm ci' (make test does)")
    return subprocess.run(["node", PARSER, *paths], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_parser_rejects_broken_diagram(tmp_path):
    broken = tmp_path / "broken.mmd"
    broken.write_text("erDiagram\n    t {\n        VARCHAR(10, 2) id PK\n    }\n")
    result = parse(broken)
    assert result.returncode == 1
    assert "error" in result.stdout


def test_hostile_names_parse(tmp_path):
    diagram = tmp_path / "hostile.mmd"
    diagram.write_text(render_erd(hostile_model()))
    result = parse(diagram)
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_diagram_parses():
    result = parse(REPO / "fixtures" / "example" / "expected" / "erd.mmd")
    assert result.returncode == 0, result.stdout + result.stderr
