"""Headless runner: let a Claude model drive the skill through the Messages API.

For pipelines that have no coding agent. ``SKILL.md`` is the system prompt,
and the tools are the skill's own operations (design, read_report,
write_hints, generate, verify, read_file). They run in-process through
``dmodel.cli.main`` and can touch only files inside the output folder. A
failing tool returns a ``tool_result`` with ``is_error: true`` and the
message, so the model can correct itself. The loop stops when the model ends
its turn, at the turn limit, or when the summed input and output tokens reach
the budget. Every request's messages and every response are appended as JSON
lines to ``agent-transcript.jsonl`` in the output folder. The API key is
passed to the SDK and written nowhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import json
import logging
import pathlib
from typing import TYPE_CHECKING, Any, Callable

from pydantic import ValidationError

from dmodel.apply import apply_files
from dmodel.errors import DmodelError, InputError
from dmodel.hints import Hints

if TYPE_CHECKING:
    import anthropic

# The SDK is imported inside the functions that use it: importing it takes
# seconds, and every dmodel command imports this module to build its --help.

log = logging.getLogger(__name__)

# NOTE: model names change with each release. This is the Sonnet alias that
# the Anthropic models overview listed when this was written; pass --model
# for another.
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_MAX_TURNS = 30
DEFAULT_MAX_TOKENS_TOTAL = 500_000
RESPONSE_MAX_TOKENS = 8_192
TOOL_RESULT_MAX_CHARS = 20_000

TRANSCRIPT_NAME = "agent-transcript.jsonl"
MODEL_FILE = "model.json"
HINTS_FILE = "hints.json"
MIGRATIONS_DIR = "migrations"
ROLLBACK_DIR = "rollback"
SEED_FILE = "seed.sql"

SKILL_PATH = pathlib.Path(__file__).resolve().parent.parent / "SKILL.md"

HEADLESS_PREAMBLE = """\
You are running headless inside `dmodel agent`, with no shell and no person to ask.
The skill below describes shell commands; here the same operations are tools:
design, read_report, write_hints, generate, verify and read_file. They act on
one discovery input and one output folder that the runner fixed, and every path
you pass is relative to that folder. Answer the report's questions yourself by
writing hints, from the evidence in the report and the discovery data. When the
schema is generated and verify passes, end with a short summary of the design,
the hints you chose and anything a person should still check.
"""

FALLBACK_SKILL = """\
Workflow: design, read the report, answer each question with the hint it names
(write_hints, then design again), generate, verify. Hints are a JSON object with
the keys rename, merge, split, dependencies, keys, pii, relationships and types.
"""


class AgentRunError(DmodelError):
    """The run could not finish because the Messages API failed."""

    exit_status = 1


class ToolError(Exception):
    """A tool call that failed; its message goes back to the model as an error result."""


@dataclasses.dataclass
class AgentResult:
    """The outcome of a run: why it stopped, the turns taken and the tokens used."""

    stop_reason: str
    turns: int
    input_tokens: int
    output_tokens: int
    transcript: pathlib.Path
    final_text: str = ""
    tool_calls: int = 0
    tool_errors: int = 0

    @property
    def completed(self) -> bool:
        return self.stop_reason == "end_turn"


def sdk_http_module() -> Any:
    """Return the HTTP package the installed SDK is built on (httpx2 for anthropic 2.x, httpx before)."""
    import anthropic

    base_client = anthropic.DefaultHttpxClient.__mro__[1]
    return importlib.import_module(base_client.__module__.split(".")[0])


def build_client(api_key: str, transport: Any = None) -> anthropic.Anthropic:
    """Create the SDK client; tests pass a mock ``transport`` so nothing reaches the network."""
    import anthropic

    if transport is None:
        return anthropic.Anthropic(api_key=api_key)
    return anthropic.Anthropic(api_key=api_key, http_client=anthropic.DefaultHttpxClient(transport=transport))


def load_system_prompt(skill_path: pathlib.Path = SKILL_PATH) -> str:
    """Return the headless preamble followed by the body of SKILL.md (frontmatter removed)."""
    try:
        skill = skill_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        # An installed wheel does not ship SKILL.md, which lives at the top of the checkout.
        log.warning("%s not found; using a short built-in workflow as the system prompt", skill_path)
        skill = FALLBACK_SKILL
    if skill.startswith("---\n"):
        closing = skill.find("\n---\n", 4)
        if closing != -1:
            skill = skill[closing + len("\n---\n"):]
    return HEADLESS_PREAMBLE + "\n" + skill.lstrip("\n")


# Tool definitions in the Messages API format.
TOOLS: list[dict[str, Any]] = [
    {
        "name": "design",
        "description": (
            "Run the design step on the discovery input: writes model.json in the output folder, "
            "using hints.json when it exists. Returns counts, questions and warnings as JSON. "
            "Call it again after write_hints to apply the answers."),
        "input_schema": {"type": "object", "properties": {}, "additionalProperties": False},
    },
    {
        "name": "read_report",
        "description": (
            "Read the design report from model.json: questions (each with the hints fragment that "
            "answers it), warnings (stable codes and fixes) and decisions (with confidence)."),
        "input_schema": {
            "type": "object",
            "properties": {
                "section": {"type": "string", "enum": ["questions", "warnings", "decisions", "all"],
                            "description": "Part of the report to return; default all"},
            },
            "additionalProperties": False,
        },
    },
    {
        "name": "write_hints",
        "description": (
            "Write hints.json in the output folder, replacing the previous file, so send every hint "
            "you want to keep. Keys: rename, merge, split, dependencies, keys, pii, relationships, "
            "types. The hints are validated first; an unknown key is an error."),
        "input_schema": {
            "type": "object",
            "properties": {"hints": {"type": "object", "description": "The whole hints document"}},
            "required": ["hints"],
            "additionalProperties": False,
        },
    },
    {
        "name": "generate",
        "description": (
            "Generate SQL from model.json into the output folder: schema.sql, the next numbered "
            "migration in migrations/ with its rollback in migrations/rollback/, erd.mmd, seed.sql, "
            "indexes.md and schema.md. Uses hints.json for renames. A change that would lose data or "
            "break existing rows writes nothing and comes back as an error with its expand/contract "
            "proposal: answer it with a rename hint, or with backfill for a new NOT NULL column. "
            "Destructive changes are never allowed here. Returns the files written as JSON."),
        "input_schema": {
            "type": "object",
            "properties": {
                "backfill": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "'table.column': SQL value that fills a new NOT NULL column in "
                                            "existing rows, such as \"'unknown'\" or \"0\""},
            },
            "additionalProperties": False,
        },
    },
    {
        "name": "verify",
        "description": (
            "Apply every migration in migrations/ (in name order) and seed.sql to a scratch SQLite "
            "database with foreign keys on, each file in one transaction as D1 runs it, then run "
            "PRAGMA foreign_key_check. Then apply every migration followed by its rollback from "
            "migrations/rollback/ (newest first) to a second scratch database and check that no table "
            "is left. Returns the row count of each table, any violations and the rollback result."),
        "input_schema": {"type": "object", "properties": {}, "additionalProperties": False},
    },
    {
        "name": "read_file",
        "description": "Read a text file in the output folder, for example schema.sql or indexes.md.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "Path relative to the output folder"}},
            "required": ["path"],
            "additionalProperties": False,
        },
    },
]


def clip(text: str, limit: int = TOOL_RESULT_MAX_CHARS) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters left out; read the file in parts]"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``dmodel ARGV`` in-process and return its exit status, stdout and stderr."""
    from dmodel import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = cli.main(argv)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 2
        except Exception as error:  # noqa: BLE001 - a crash becomes an error result, not the end of the run
            log.exception("dmodel %s crashed", argv[0])
            raise ToolError(f"dmodel {argv[0]} crashed with {type(error).__name__}: {error}. "
                            "This is a bug in dmodel; try different hints or stop and report it") from None
    return status, stdout.getvalue(), stderr.getvalue()


class Workspace:
    """The skill's operations on one discovery input and one output folder."""

    def __init__(self, discovery: pathlib.Path, directory: pathlib.Path) -> None:
        self.discovery = discovery.resolve()
        self.directory = directory.resolve()
        self.handlers: dict[str, Callable[[dict[str, Any]], str]] = {
            "design": self.design,
            "read_report": self.read_report,
            "write_hints": self.write_hints,
            "generate": self.generate,
            "verify": self.verify,
            "read_file": self.read_file,
        }

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run tool ``name``; raise ToolError with a message for the model when it fails."""
        handler = self.handlers.get(name)
        if handler is None:
            raise ToolError(f"unknown tool {name!r}; the tools are {', '.join(self.handlers)}")
        if not isinstance(arguments, dict):
            raise ToolError(f"the input of {name} must be a JSON object")
        return handler(arguments)

    def resolve(self, relative: str) -> pathlib.Path:
        """Return ``relative`` as a path inside the output folder, or raise ToolError."""
        if not isinstance(relative, str) or not relative.strip():
            raise ToolError("path is missing; pass a path relative to the output folder")
        path = (self.directory / relative).resolve()
        if not path.is_relative_to(self.directory):
            raise ToolError(f"path {relative!r} is outside the output folder; pass a path relative to it, "
                            "such as schema.sql or migrations/0001_initial.sql")
        return path

    @property
    def model_path(self) -> pathlib.Path:
        return self.directory / MODEL_FILE

    @property
    def hints_path(self) -> pathlib.Path:
        return self.directory / HINTS_FILE

    def _run_command(self, argv: list[str]) -> str:
        status, stdout, stderr = run_cli(argv)
        if status != 0:
            message = stderr.strip() or stdout.strip() or "no message"
            raise ToolError(f"dmodel {argv[0]} failed with exit status {status}: {clip(message, 4_000)}")
        return clip(stdout.strip())

    def _require_model(self) -> None:
        if not self.model_path.is_file():
            raise ToolError(f"{MODEL_FILE} does not exist yet; call design first")

    def design(self, arguments: dict[str, Any]) -> str:
        argv = ["design", str(self.discovery), "-o", str(self.model_path), "--json"]
        if self.hints_path.is_file():
            argv += ["--hints", str(self.hints_path)]
        return self._run_command(argv)

    def generate(self, arguments: dict[str, Any]) -> str:
        self._require_model()
        argv = ["generate", str(self.model_path), "-o", str(self.directory), "--json"]
        backfill = arguments.get("backfill") or {}
        if not isinstance(backfill, dict) or not all(isinstance(value, str) for value in backfill.values()):
            raise ToolError("backfill must be an object of 'table.column': SQL value strings")
        for column, value in sorted(backfill.items()):
            argv += ["--backfill", f"{column}={value}"]
        if self.hints_path.is_file():
            # The renames in the hints let the migration rename a table or column instead of dropping it.
            argv += ["--hints", str(self.hints_path)]
        return self._run_command(argv)

    def read_report(self, arguments: dict[str, Any]) -> str:
        self._require_model()
        section = arguments.get("section", "all")
        sections = ("questions", "warnings", "decisions")
        if section != "all" and section not in sections:
            raise ToolError(f"section {section!r} is invalid; use one of {', '.join(sections)} or all")

        report = json.loads(self.model_path.read_text(encoding="utf-8")).get("report", {})
        names = sections if section == "all" else (section,)
        selected: dict[str, Any] = {name: report.get(name, []) for name in names}
        if "decisions" in selected:
            # Evidence can be long; the summary line and confidence are what the model acts on.
            selected["decisions"] = [
                {key: decision.get(key) for key in ("code", "subject", "message", "confidence")}
                for decision in selected["decisions"]
            ]
        return clip(json.dumps(selected, indent=1, ensure_ascii=False))

    def write_hints(self, arguments: dict[str, Any]) -> str:
        hints = arguments.get("hints")
        if not isinstance(hints, dict):
            raise ToolError("hints must be a JSON object with the keys " + ", ".join(Hints.model_fields))
        try:
            validated = Hints.model_validate(hints)
        except ValidationError as error:
            problems = "; ".join(
                f"hints.{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())
            raise ToolError(f"invalid hints: {problems}. Allowed keys: {', '.join(Hints.model_fields)}") from None

        document = validated.model_dump(mode="json", exclude_defaults=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.hints_path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
        return json.dumps({"ok": True, "path": HINTS_FILE, "keys": sorted(document),
                           "next": "call design to apply the hints"})

    def verify(self, arguments: dict[str, Any]) -> str:
        migrations = sorted((self.directory / MIGRATIONS_DIR).glob("*.sql"))
        if not migrations:
            raise ToolError(f"no migrations in {MIGRATIONS_DIR}/; call generate first")
        files = list(migrations)
        seed = self.directory / SEED_FILE
        if seed.is_file():
            files.append(seed)
        report = verify_files(files, self.directory)
        report["rollback"] = verify_rollbacks(migrations, self.directory)
        report["ok"] = report["ok"] and report["rollback"]["ok"]
        return json.dumps(report, ensure_ascii=False)

    def read_file(self, arguments: dict[str, Any]) -> str:
        path = self.resolve(arguments.get("path", ""))
        if not path.is_file():
            raise ToolError(f"{arguments['path']!r} is not a file in the output folder")
        try:
            return clip(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ToolError(f"{arguments['path']!r} is not UTF-8 text") from None


def verify_files(files: list[pathlib.Path], base: pathlib.Path) -> dict[str, Any]:
    """Apply SQL ``files`` in order to an in-memory SQLite database as D1 would, and check the result."""
    try:
        outcome = apply_files(":memory:", files)
    except InputError as error:
        failed = pathlib.Path(error.file or "").relative_to(base).as_posix() if error.file else "a file"
        raise ToolError(f"{failed}: {error.message}. Change the hints or the discovery data, design and "
                        "generate again") from None

    violations = [
        {"table": table, "rowid": rowid, "parent": parent, "foreign_key": index}
        for table, rowid, parent, index in outcome.foreign_key_violations
    ]
    return {
        "ok": not violations,
        "applied": [pathlib.Path(name).relative_to(base).as_posix() for name in outcome.applied],
        "tables": outcome.row_counts,
        "foreign_key_violations": violations[:50],
        "foreign_key_violation_count": len(violations),
    }


def verify_rollbacks(migrations: list[pathlib.Path], base: pathlib.Path) -> dict[str, Any]:
    """Apply every migration, then every rollback newest first, and check that no table is left."""
    rollbacks = [path.parent / ROLLBACK_DIR / path.name for path in migrations]
    missing = [path.relative_to(base).as_posix() for path in rollbacks if not path.is_file()]
    if missing:
        return {"ok": False, "missing": missing}
    try:
        outcome = apply_files(":memory:", [*migrations, *reversed(rollbacks)])
    except InputError as error:
        return {"ok": False, "error": str(error)}
    left = sorted(outcome.row_counts)
    return {"ok": not left, "tables_left": left}


class Transcript:
    """JSON lines of every request and response, with the API key masked should it ever appear."""

    def __init__(self, path: pathlib.Path, secret: str) -> None:
        self.path = path
        self.secret = secret
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        if self.secret:
            line = line.replace(self.secret, "[redacted]")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def initial_prompt(discovery: pathlib.Path, directory: pathlib.Path) -> str:
    return (
        f"Design a normalized Cloudflare D1 schema from the discovery input {discovery.name} and "
        f"write the results into the output folder {directory.name}/. Follow the workflow: design, "
        "read the report, answer every question with hints and design again until no question is "
        "left that the data can settle, then generate and verify. Report what you decided.")


def _block_to_param(block: Any) -> dict[str, Any]:
    """Turn a response content block into the dict sent back in the next request."""
    data = block.model_dump(mode="json", exclude_none=True, warnings=False)
    if data.get("type") == "tool_use":
        return {key: data[key] for key in ("type", "id", "name", "input")}
    if data.get("type") == "text":
        return {"type": "text", "text": data["text"]}
    return data


def _api_failure(error: anthropic.APIError, model: str) -> DmodelError:
    import anthropic

    status = getattr(error, "status_code", None)
    if isinstance(error, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
        return InputError(f"the Anthropic API rejected the key in ANTHROPIC_API_KEY (HTTP {status})",
                          fix="set ANTHROPIC_API_KEY to a valid API key")
    if isinstance(error, anthropic.NotFoundError):
        return InputError(f"the Anthropic API does not know the model {model!r} (HTTP {status})",
                          fix="pass a current model name with --model")
    if isinstance(error, anthropic.BadRequestError):
        return InputError(f"the Anthropic API rejected the request (HTTP {status}): {error.message}",
                          fix=f"check --model {model} and the transcript")
    return AgentRunError(f"the Anthropic API request failed: {error}; the transcript holds the run so far")


def run_agent(discovery: pathlib.Path, directory: pathlib.Path, *, api_key: str, model: str = DEFAULT_MODEL,
              max_turns: int = DEFAULT_MAX_TURNS, max_tokens_total: int = DEFAULT_MAX_TOKENS_TOTAL,
              transport: Any = None, client: anthropic.Anthropic | None = None) -> AgentResult:
    """Run the tool loop until the model ends its turn, the turn limit or the token budget."""
    import anthropic

    workspace = Workspace(discovery, directory)
    transcript = Transcript(workspace.directory / TRANSCRIPT_NAME, api_key)
    client = client or build_client(api_key, transport)
    system = load_system_prompt()

    transcript.write({"type": "start", "model": model, "max_turns": max_turns,
                      "max_tokens_total": max_tokens_total, "discovery": discovery.name,
                      "system": system, "tools": TOOLS})
    messages: list[dict[str, Any]] = [{"role": "user", "content": initial_prompt(discovery, directory)}]
    result = AgentResult("max_turns", 0, 0, 0, transcript.path)

    while True:
        if result.turns >= max_turns:
            result.stop_reason = "max_turns"
            break
        used = result.input_tokens + result.output_tokens
        if used >= max_tokens_total:
            result.stop_reason = "token_budget"
            break

        request = {"model": model, "max_tokens": min(RESPONSE_MAX_TOKENS, max_tokens_total - used),
                   "system": system, "tools": TOOLS, "messages": messages}
        result.turns += 1
        transcript.write({"type": "request", "turn": result.turns, "model": model,
                          "max_tokens": request["max_tokens"], "messages": messages})
        try:
            response = client.messages.create(**request)
        except anthropic.APIError as error:
            transcript.write({"type": "error", "turn": result.turns, "error": type(error).__name__,
                              "status": getattr(error, "status_code", None)})
            raise _api_failure(error, model) from None
        transcript.write({"type": "response", "turn": result.turns,
                          "response": response.model_dump(mode="json", exclude_none=True, warnings=False)})

        result.input_tokens += response.usage.input_tokens
        result.output_tokens += response.usage.output_tokens
        content = [_block_to_param(block) for block in response.content]
        messages = [*messages, {"role": "assistant", "content": content}]
        texts = [block["text"] for block in content if block["type"] == "text"]
        if texts:
            result.final_text = "\n".join(texts)

        if response.stop_reason != "tool_use":
            result.stop_reason = response.stop_reason or "end_turn"
            break
        messages = [*messages, {"role": "user", "content": _run_tools(workspace, content, result)}]

    transcript.write({"type": "stop", "stop_reason": result.stop_reason, "turns": result.turns,
                      "input_tokens": result.input_tokens, "output_tokens": result.output_tokens,
                      "tool_calls": result.tool_calls, "tool_errors": result.tool_errors})
    return result


def _run_tools(workspace: Workspace, content: list[dict[str, Any]], result: AgentResult) -> list[dict[str, Any]]:
    """Run every tool_use block of one response and return the matching tool_result blocks."""
    results = []
    for block in content:
        if block["type"] != "tool_use":
            continue
        result.tool_calls += 1
        try:
            output = workspace.call(block["name"], block.get("input") or {})
            results.append({"type": "tool_result", "tool_use_id": block["id"], "content": output})
        except ToolError as error:
            result.tool_errors += 1
            log.info("tool %s failed: %s", block["name"], error)
            results.append({"type": "tool_result", "tool_use_id": block["id"], "content": str(error),
                            "is_error": True})
    return results
