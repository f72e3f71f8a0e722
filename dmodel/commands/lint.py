"""``dmodel lint``: check hand-written SQL files against the D1 rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dmodel.d1rules import RULES, Finding, lint_sql
from dmodel.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="check SQL files against the D1 rules",
        description=(
            "Check SQL files (for example hand-written migrations) against what Cloudflare D1 "
            "accepts: no transaction control, reserved names, size and parameter limits, LF line "
            "endings, a ';' after every statement, simple trigger bodies and allowed PRAGMAs. "
            "Exit status: 0 clean, 1 findings, 2 unreadable input."),
        epilog="rule codes:\n" + "\n".join(f"  {code}  {summary}" for code, summary in RULES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a .sql file, or a folder whose top-level *.sql files are checked in name order")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with every finding on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = _collect_files(args.paths)
    findings: list[Finding] = []
    for path in files:
        findings.extend(lint_sql(_read_sql(path), file=str(path)))

    if args.json:
        from dmodel.cli import emit_json
        emit_json({
            "ok": not findings,
            "files": [str(path) for path in files],
            "findings": [finding.as_dict() for finding in findings],
        })
    else:
        for finding in findings:
            print(finding.render())
    print(f"dmodel lint: {len(findings)} finding(s) in {len(files)} file(s)", file=sys.stderr)
    return 1 if findings else 0


def _collect_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(child for child in path.iterdir() if child.is_file() and child.suffix == ".sql")
            if not found:
                raise InputError("the folder contains no .sql files", file=name,
                                 fix="pass a folder of migrations or the .sql files themselves")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("file not found", file=name, fix="check the path and pass an existing .sql file")
    return files


def _read_sql(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror}", file=str(path),
                         fix="check that the file exists and is readable") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError("the file is not valid UTF-8", file=str(path), place=f"byte offset {error.start}",
                         fix="save the file as UTF-8, which D1 expects") from None
