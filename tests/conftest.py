"""Shared test helpers: paths to the bundled example and the real inputs, and a CLI runner."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from dmodel.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "fixtures" / "example"
# Real inputs from public projects live beside the repository, not in it.
SHARED_DATA = REPO.parent / "shared" / "data"


@dataclass
class CliResult:
    status: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str | Path) -> CliResult:
    """Run ``dmodel ARGS`` in-process and capture its exit status, stdout and stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            status = main([str(arg) for arg in args])
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return CliResult(status, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real inputs not found at {SHARED_DATA}: they are kept beside the repository, not in it")
    return SHARED_DATA
