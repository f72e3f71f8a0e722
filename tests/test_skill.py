"""SKILL.md follows the Agent Skills format and matches the real commands and files."""

from __future__ import annotations

import argparse
import glob
import json
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from dmodel import cli
from dmodel.discovery import Discovery
from dmodel.hints import Hints

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKILL = ROOT / "SKILL.md"
REFERENCES = ROOT / "references"
EXAMPLE = ROOT / "fixtures" / "example" / "discovery.json"

ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
NAME_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")
LINK_PATTERN = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
PATH_PATTERN = re.compile(r"`((?:references|schemas|scripts)/[\w./-]+)`")
COMMAND_PATTERN = re.compile(r"`(python (?:scripts/\w+\.py|-m dmodel \w+))([^`]*)`")
SCRIPT_COMMANDS = {"python scripts/design_schema.py": "design", "python scripts/generate_sql.py": "generate"}


def parse_scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    assert not text.startswith(("|", ">", "[", "{", "-")), f"unsupported YAML value: {text!r}"
    return text


def parse_frontmatter(text: str) -> tuple[dict[str, object], str]:
    """Parse the small YAML subset a skill's frontmatter needs: scalars and one level of mapping."""
    assert text.startswith("---\n"), "SKILL.md must start with a '---' line"
    end = text.index("\n---\n", 4)
    block, body = text[4:end], text[end + len("\n---\n"):]

    fields: dict[str, object] = {}
    current: dict[str, str] | None = None
    for number, line in enumerate(block.splitlines(), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("  ") and current is not None:
            key, separator, value = line.strip().partition(":")
            assert separator, f"SKILL.md line {number}: expected 'key: value' under a mapping"
            current[key] = parse_scalar(value)
            continue
        assert not line.startswith(" "), f"SKILL.md line {number}: unexpected indentation"
        key, separator, value = line.partition(":")
        assert separator, f"SKILL.md line {number}: expected 'key: value'"
        assert key not in fields, f"SKILL.md line {number}: duplicate key {key}"
        if value.strip():
            fields[key] = parse_scalar(value)
            current = None
        else:
            current = {}
            fields[key] = current
    return fields, body


@pytest.fixture(scope="module")
def skill():
    return parse_frontmatter(SKILL.read_text(encoding="utf-8"))


def subparsers_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    return subparsers_of(cli.build_parser())


def options_of(parser: argparse.ArgumentParser, arguments: str) -> set[str]:
    """Return the options a command accepts, descending into a nested action named first in ``arguments``."""
    words = arguments.split()
    nested = subparsers_of(parser)
    if nested and words and words[0] in nested:
        parser = nested[words[0]]
    return {option for action in parser._actions for option in action.option_strings}


# Frontmatter

def test_frontmatter_uses_allowed_keys(skill):
    fields, _ = skill
    assert set(fields) <= ALLOWED_KEYS, f"keys not allowed in a skill's frontmatter: {set(fields) - ALLOWED_KEYS}"
    assert {"name", "description"} <= set(fields)


def test_frontmatter_name(skill):
    fields, _ = skill
    assert fields["name"] == "data-model-agent"
    assert len(fields["name"]) <= 64
    assert NAME_PATTERN.match(fields["name"])


def test_frontmatter_description(skill):
    fields, _ = skill
    description = fields["description"]
    assert 1 <= len(description) <= 1024
    assert "<" not in description
    assert ">" not in description
    assert "D1" in description
    assert "Use it" in description, "the description says when to use the skill"


def test_frontmatter_optional_fields(skill):
    fields, _ = skill
    assert 1 <= len(fields["compatibility"]) <= 500
    assert isinstance(fields["metadata"], dict)
    assert all(isinstance(value, str) for value in fields["metadata"].values())


def test_parser_rejects_bad_frontmatter():
    with pytest.raises(AssertionError, match="start with"):
        parse_frontmatter("# no frontmatter\n")
    with pytest.raises(AssertionError, match="duplicate key name"):
        parse_frontmatter("---\nname: a\nname: b\n---\nbody\n")
    with pytest.raises(AssertionError, match="unsupported YAML value"):
        parse_frontmatter("---\ndescription: >\n  folded\n---\nbody\n")


# Body

def test_body_under_500_lines(skill):
    _, body = skill
    assert len(body.splitlines()) < 500


@pytest.mark.parametrize("topic", [
    "## When to use it", "## When not to use it", "## Workflow", "## Commands", "## Reading the report",
    "## Answering a question with a hint", "## Gotchas",
])
def test_body_has_section(skill, topic):
    _, body = skill
    assert topic in body


@pytest.mark.parametrize("fact", [
    "PRAGMA foreign_keys = OFF", "ON DELETE CASCADE", "migrations/rollback/", "BEGIN", "mask",
])
def test_gotchas_state_fact(skill, fact):
    _, body = skill
    gotchas = body.split("## Gotchas", 1)[1]
    assert fact in gotchas


def test_referenced_files_exist(skill):
    _, body = skill
    referenced = set(LINK_PATTERN.findall(body)) | set(PATH_PATTERN.findall(body))
    assert referenced, "SKILL.md references no files"
    for relative in sorted(referenced):
        if relative.startswith(("http://", "https://")):
            continue
        target = ROOT / relative
        assert target.exists(), f"SKILL.md references {relative}, which does not exist"


def test_every_reference_linked_from_skill(skill):
    # References are one level deep: each is linked from SKILL.md itself.
    _, body = skill
    linked = {pathlib.PurePosixPath(link).name for link in LINK_PATTERN.findall(body) if link.startswith("references/")}
    present = {path.name for path in REFERENCES.glob("*.md")}
    assert {"discovery-format.md", "hints.md", "d1-rules.md", "naming.md"} <= present
    assert present == linked


@pytest.mark.parametrize("reference", sorted(path.name for path in REFERENCES.glob("*.md")))
def test_reference_links_resolve(reference):
    text = (REFERENCES / reference).read_text(encoding="utf-8")
    for link in LINK_PATTERN.findall(text):
        if link.startswith(("http://", "https://")):
            continue
        assert (REFERENCES / link).exists(), f"references/{reference} links {link}, which does not exist"
    for relative in PATH_PATTERN.findall(text):
        assert (ROOT / relative).exists(), f"references/{reference} names {relative}, which does not exist"


# Commands

def test_every_command_listed(skill):
    _, body = skill
    commands = body.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for name in command_parsers():
        assert f"dmodel {name} " in commands or f"-m dmodel {name}" in commands or (
            name == "design" and "design_schema.py" in commands) or (
            name == "generate" and "generate_sql.py" in commands), (
            f"SKILL.md's Commands section has no line for 'dmodel {name}': add one")


def test_command_options_exist(skill):
    # Every command written in SKILL.md (command list, workflow, anywhere) uses only real options.
    _, body = skill
    parsers = command_parsers()
    invocations = COMMAND_PATTERN.findall(body)
    assert len(invocations) >= 8
    for invocation, arguments in invocations:
        name = SCRIPT_COMMANDS.get(invocation) or invocation.rsplit(" ", 1)[1]
        assert name in parsers, f"SKILL.md runs {invocation}, which is not a dmodel command"
        known = options_of(parsers[name], arguments)
        for option in re.findall(r"(?<![\w-])--?[a-z][\w-]*", arguments):
            assert option in known, f"SKILL.md gives {invocation} the option {option}, which it does not have"


# Examples in the references

def json_blocks(text: str) -> list[str]:
    return re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)


def test_discovery_example_is_valid():
    blocks = json_blocks((REFERENCES / "discovery-format.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1
    document = Discovery.model_validate(json.loads(blocks[0]))
    assert document.format == "dmodel.discovery/v1"
    assert document.unknown_keys() == ["$.crm_owner"]
    assert [entity.name for entity in document.entities] == ["patients", "dentists", "appointments"]


@pytest.mark.parametrize("name", ["hints.md"])
def test_hints_examples_are_valid(name):
    blocks = json_blocks((REFERENCES / name).read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        data = json.loads(block)
        if "question" in data:
            Hints.model_validate(data["hint"])
        else:
            Hints.model_validate(data)


def test_skill_question_example_is_valid(skill):
    _, body = skill
    blocks = json_blocks(body)
    assert blocks
    for block in blocks:
        Hints.model_validate(json.loads(block)["hint"])




def test_discovery_example_designs(tmp_path, capsys):
    text = (REFERENCES / "discovery-format.md").read_text(encoding="utf-8")
    (tmp_path / "discovery.json").write_text(json_blocks(text)[0], encoding="utf-8")
    csv_block = re.search(r"```\n(patient_ref,.*?)```", text, flags=re.DOTALL).group(1)
    (tmp_path / "patients.csv").write_text(csv_block, encoding="utf-8")

    status = cli.main(["design", str(tmp_path / "discovery.json"), "-o", str(tmp_path / "model.json"), "--json"])
    assert status == 0, capsys.readouterr().err
    model = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    tables = {entity["name"]: entity for entity in model["entities"]}
    assert {"patients", "dentists", "appointments"} <= set(tables)
    referenced = {key["ref_table"] for key in tables["appointments"]["foreign_keys"]}
    assert {"patients", "dentists"} <= referenced
    assert "$.crm_owner" in model["report"]["unknown_keys"]


def test_workflow_commands_run(skill, tmp_path):
    # The checklist's commands, run as written on the bundled example, all succeed in order.
    _, body = skill
    workflow = body.split("## Workflow", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"`(python [^`]+)`", workflow)
    assert [command.split()[1 if "scripts/" in command else 3] for command in commands] == [
        "scripts/design_schema.py", "scripts/generate_sql.py", "apply", "lint", "drift"]

    out = tmp_path / "out"
    substitutes = {"python": sys.executable, "DISCOVERY": str(EXAMPLE), "DB": str(out / "check.sqlite")}
    for command in commands:
        argv = []
        for word in shlex.split(command):
            word = substitutes.get(word, word)
            if word == "out" or word.startswith("out/"):
                word = str(tmp_path / word)
            argv.extend(sorted(glob.glob(word)) if "*" in word else [word])
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{command} failed with {result.returncode}: {result.stderr[-2000:]}"
    assert (out / "check.sqlite").is_file()


def test_hints_reference_lists_every_key():
    text = (REFERENCES / "hints.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.MULTILINE))
    assert documented == set(Hints.model_fields), (
        f"references/hints.md must have one table row per hints key; missing {set(Hints.model_fields) - documented}, "
        f"unknown {documented - set(Hints.model_fields)}")
