"""``dmodel agent``: let a Claude model run the whole workflow headless."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

from dmodel import agent
from dmodel.cli import emit_json
from dmodel.errors import InputError

# Caps that keep the --json object small whatever the run produced.
MAX_LISTED_FILES = 60
MAX_FINAL_TEXT_CHARS = 2_000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run the design workflow headless with a Claude model (needs ANTHROPIC_API_KEY)",
        description=(
            "Run the skill headless for pipelines without a coding agent: a Claude model reads SKILL.md, "
            "then designs, answers the report's questions with hints, generates and verifies, using the "
            "skill's operations as tools confined to the output folder. Every request and response is "
            f"saved in DIR/{agent.TRANSCRIPT_NAME}. The API key is read from ANTHROPIC_API_KEY and is "
            "never printed or saved."),
        epilog=(
            "Exit status: 0 the model finished; 1 the run stopped at the turn limit or the token budget, "
            "or the API failed; 2 bad input, a missing or rejected API key, or an unknown model."),
    )
    parser.add_argument("discovery", metavar="DISCOVERY", type=pathlib.Path,
                        help="discovery document, data file or folder to design from")
    parser.add_argument("-o", "--out", metavar="DIR", type=pathlib.Path, required=True,
                        help="output folder for model.json, hints.json, the SQL files and the transcript")
    parser.add_argument("--model", default=agent.DEFAULT_MODEL,
                        help=f"Claude model name (default: {agent.DEFAULT_MODEL})")
    parser.add_argument("--max-turns", type=int, default=agent.DEFAULT_MAX_TURNS, metavar="N",
                        help=f"maximum number of model requests (default: {agent.DEFAULT_MAX_TURNS})")
    parser.add_argument("--max-tokens-total", type=int, default=agent.DEFAULT_MAX_TOKENS_TOTAL, metavar="N",
                        help=("token budget: stop once the summed input and output tokens of all responses "
                              f"reach N (default: {agent.DEFAULT_MAX_TOKENS_TOTAL})"))
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the outcome on stdout")
    parser.set_defaults(func=run)


def report_counts(model_path: pathlib.Path) -> dict[str, int | None]:
    """Count the questions and warnings left in the model's report; None when there is no model."""
    try:
        report = json.loads(model_path.read_text(encoding="utf-8")).get("report", {})
    except (FileNotFoundError, json.JSONDecodeError):
        return {"questions_open": None, "warnings": None}
    return {"questions_open": len(report.get("questions", [])), "warnings": len(report.get("warnings", []))}


def run(args: argparse.Namespace) -> int:
    if not args.discovery.exists():
        raise InputError("the discovery input does not exist", file=str(args.discovery),
                         fix="pass an existing discovery document, data file or folder")
    if args.out.exists() and not args.out.is_dir():
        raise InputError("the output path exists and is not a folder", file=str(args.out),
                         fix="pass a folder (it is created when missing) to -o")
    for option, value in (("--max-turns", args.max_turns), ("--max-tokens-total", args.max_tokens_total)):
        if value < 1:
            raise InputError(f"{option} must be at least 1, not {value}", place=option,
                             fix=f"pass a positive number to {option}")
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        raise InputError("ANTHROPIC_API_KEY is not set", place="environment",
                         fix="export ANTHROPIC_API_KEY with an Anthropic API key, or run the skill from a "
                             "coding agent, which needs no key")

    result = agent.run_agent(args.discovery, args.out, api_key=api_key, model=args.model,
                             max_turns=args.max_turns, max_tokens_total=args.max_tokens_total)

    files = sorted(path.relative_to(args.out).as_posix() for path in args.out.rglob("*") if path.is_file())
    summary = {
        "ok": result.completed,
        "stop_reason": result.stop_reason,
        "turns": result.turns,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "tool_calls": result.tool_calls,
        "tool_errors": result.tool_errors,
        "transcript": str(result.transcript),
        "files": files[:MAX_LISTED_FILES],
        "file_count": len(files),
        "final_text": agent.clip(result.final_text, MAX_FINAL_TEXT_CHARS),
        **report_counts(args.out / agent.MODEL_FILE),
    }
    if args.json:
        emit_json(summary)
    else:
        print(result.final_text)
    if not result.completed:
        print(f"dmodel agent: stopped ({result.stop_reason}) after {result.turns} turns and "
              f"{result.input_tokens + result.output_tokens} tokens; see {result.transcript}",
              file=sys.stderr)
        return 1
    return 0
