"""The Node shims run the Python scripts with the same arguments, streams and exit status."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed; the Node shims need it")

SHIMS = {"design-schema.js": "design_schema.py", "generate-sql.js": "generate_sql.py"}

# A stand-in interpreter: it prints what it was started with as JSON and exits
# with the status named by the environment, or kills itself with a signal.
ECHO_INTERPRETER = """\
import json, os, signal, sys
payload = {"argv": sys.argv[1:], "stdin": sys.stdin.read()}
print(json.dumps(payload))
print("diagnostic on stderr", file=sys.stderr)
if os.environ.get("ECHO_SIGNAL"):
    os.kill(os.getpid(), getattr(signal, os.environ["ECHO_SIGNAL"]))
sys.exit(int(os.environ.get("ECHO_STATUS", "0")))
"""


@pytest.fixture
def echo_python(tmp_path):
    script = tmp_path / "echo_interpreter.py"
    script.write_text(ECHO_INTERPRETER, encoding="utf-8")
    launcher = tmp_path / "fake python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    return launcher


def run_shim(name, *args, stdin="", env=None, cwd=ROOT):
    environment = {**os.environ, **(env or {})}
    return subprocess.run([NODE, str(ROOT / "scripts" / name), *args], input=stdin,
                          capture_output=True, text=True, env=environment, cwd=cwd, timeout=120)


def copy_scripts(tmp_path, *names):
    """Copy shim files into a skill folder outside the checkout and return its scripts/ folder."""
    scripts = tmp_path / "skill" / "scripts"
    scripts.mkdir(parents=True)
    for name in names:
        shutil.copy(ROOT / "scripts" / name, scripts / name)
    return scripts


def without_dmodel_python():
    return {key: value for key, value in os.environ.items() if key != "DMODEL_PYTHON"}




@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_shim_passes_arguments_with_spaces(shim, echo_python):
    result = run_shim(shim, "data folder/deals export.csv", "-o", "out dir/model.json", "",
                      env={"DMODEL_PYTHON": str(echo_python)})
    assert result.returncode == 0, result.stderr
    argv = json.loads(result.stdout)["argv"]
    assert argv[0] == str(ROOT / "scripts" / SHIMS[shim])
    assert argv[1:] == ["data folder/deals export.csv", "-o", "out dir/model.json", ""]


def test_shim_passes_stdin_and_stderr(echo_python):
    records = '[{"id": 1, "name": "Ada"}]\n'
    result = run_shim("design-schema.js", "-", stdin=records, env={"DMODEL_PYTHON": str(echo_python)})
    assert result.returncode == 0
    assert json.loads(result.stdout)["stdin"] == records
    assert result.stderr == "diagnostic on stderr\n"


@pytest.mark.parametrize("status", [1, 2, 3])
def test_shim_passes_exit_status(status, echo_python):
    result = run_shim("generate-sql.js", env={"DMODEL_PYTHON": str(echo_python), "ECHO_STATUS": str(status)})
    assert result.returncode == status


def test_shim_turns_signal_into_status(echo_python):
    result = run_shim("design-schema.js", env={"DMODEL_PYTHON": str(echo_python), "ECHO_SIGNAL": "SIGTERM"})
    assert result.returncode == 128 + signal.SIGTERM


def test_shim_rejects_missing_interpreter(tmp_path):
    result = run_shim("design-schema.js", env={"DMODEL_PYTHON": str(tmp_path / "no-such-python")})
    assert result.returncode == 2
    assert "no-such-python" in result.stderr
    assert "DMODEL_PYTHON" in result.stderr


def test_shim_without_any_python_exits_2(tmp_path):
    # A copy of the shims outside the checkout has no .venv beside it, and
    # PATH holds only node, so no interpreter can be found.
    scripts = copy_scripts(tmp_path, "run-python.js", "design-schema.js")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(NODE)
    environment = {**without_dmodel_python(), "PATH": str(bin_dir)}
    result = subprocess.run([NODE, str(scripts / "design-schema.js"), "x.json"], capture_output=True,
                            text=True, env=environment, timeout=60)
    assert result.returncode == 2
    assert "no Python interpreter found" in result.stderr
    assert "DMODEL_PYTHON" in result.stderr


def test_shim_prefers_checkout_venv(tmp_path):
    scripts = copy_scripts(tmp_path, "run-python.js")
    probe = scripts / "probe.js"
    probe.write_text("process.stdout.write(require('./run-python.js').findPython());\n", encoding="utf-8")
    venv_python = tmp_path / "skill" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("#!/bin/sh\n", encoding="utf-8")
    venv_python.chmod(0o755)
    result = subprocess.run([NODE, str(probe)], capture_output=True, text=True, env=without_dmodel_python(),
                            timeout=60)
    assert result.stdout == str(venv_python)


def test_real_design_bad_input_exits_2(tmp_path):
    missing = tmp_path / "no such file.json"
    result = run_shim("design-schema.js", str(missing), "-o", str(tmp_path / "model.json"), "--json")
    assert result.returncode == 2, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model.json").exists()


def test_real_scripts_match_python(tmp_path):
    folder = tmp_path / "client data"
    folder.mkdir()
    source = folder / "deals export.json"
    source.write_text(json.dumps([
        {"deal_id": "D-1", "title": "Renewal", "amount": "1200.00", "owner_email": "ada@example.com"},
        {"deal_id": "D-2", "title": "Upsell", "amount": "300.50", "owner_email": "bob@example.com"},
    ]), encoding="utf-8")

    via_node = run_shim("design-schema.js", str(source), "-o", str(tmp_path / "node" / "model.json"), "--json")
    via_python = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "design_schema.py"), str(source),
         "-o", str(tmp_path / "python" / "model.json"), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert via_node.returncode == via_python.returncode == 0, via_node.stderr
    node_model = (tmp_path / "node" / "model.json").read_bytes()
    assert node_model == (tmp_path / "python" / "model.json").read_bytes()

    generated = run_shim("generate-sql.js", str(tmp_path / "node" / "model.json"), "-o", str(tmp_path / "sql"))
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "sql" / "schema.sql").is_file()
