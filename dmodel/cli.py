"""The ``dmodel`` command line: one subcommand per capability.

Each subcommand lives in a module under ``dmodel.commands`` that defines
``register(subparsers)``; the module sets ``run`` as the parser's default
function. ``run(args)`` returns the exit status: 0 success, 1 differences
found by a check or drift, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any, Sequence

from dmodel.errors import DmodelError

# Modules under dmodel.commands, in the order their subcommands are listed in --help.
COMMAND_MODULES = [
    "design",
    "generate",
    "apply",
    "lint",
    "d1",
    "agent",
    "standard",
    "tenancy",
    "audit",
    "map",
    "overlap",
    "drift",
]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors honour --json and exit with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if "--json" in sys.argv[1:]:
            print(json.dumps({"ok": False, "error": {"message": message, "fix": f"run '{self.prog} --help'"}}))
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dmodel", description=(
        "Turn discovery data into a normalized Cloudflare D1 schema and keep it evolving safely."))
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"dmodel.commands.{name}").register(subparsers)
    return parser


def emit_json(payload: dict[str, Any]) -> None:
    """Print the one JSON object that ``--json`` promises on stdout."""
    print(json.dumps(payload, indent=None, ensure_ascii=False, sort_keys=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args))
    except DmodelError as error:
        if getattr(args, "json", False):
            details = error.as_dict() if hasattr(error, "as_dict") else {"message": str(error)}
            emit_json({"ok": False, "error": details})
        print(f"dmodel {args.command}: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("dmodel: interrupted", file=sys.stderr)
        return 130


def run_script(command: str, argv: Sequence[str] | None = None) -> None:
    """Run one subcommand as a script would (``scripts/design_schema.py``) and exit."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    raise SystemExit(main([command, *arguments]))


if __name__ == "__main__":
    raise SystemExit(main())
