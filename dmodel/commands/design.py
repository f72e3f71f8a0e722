"""``dmodel design``: discovery data in, entity model and design report out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dmodel.errors import InputError, json_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "design", help="design an entity model from discovery data",
        description="Profile discovery data, normalize it to 3NF and write the entity model (model.json) "
                    "with its design report.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="discovery JSON, JSON or NDJSON records, CSV, SQL DDL/dump, or a folder of them")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="MODEL.json",
                        help="where to write the entity model")
    parser.add_argument("--hints", type=Path, metavar="FILE",
                        help="hints JSON that renames, merges, splits, forces keys or marks personal data")
    parser.add_argument("--format", metavar="NAME",
                        help="read every input as this format (json, ndjson, csv, sql, or a SQL dialect such "
                             "as postgres or mysql) instead of guessing from the file extension")
    parser.add_argument("--text-ids", action="store_true",
                        help="record that primary keys should be TEXT (UUID/ULID) instead of INTEGER")
    parser.add_argument("--no-timestamps", action="store_true",
                        help="do not add created_at and updated_at columns")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (paths, counts, questions, warnings) on stdout")
    parser.set_defaults(func=run)


def load_hints(path: Path | None):
    from pydantic import ValidationError

    from dmodel.hints import Hints
    if path is None:
        return Hints()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("hints file not found", file=str(path), fix="check the path given to --hints") from None
    except json.JSONDecodeError as error:
        raise InputError(f"invalid JSON: {error.msg}", file=str(path), place=f"line {error.lineno}, column "
                         f"{error.colno}", fix="correct the JSON syntax") from None
    try:
        return Hints.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        place = json_path(first["loc"])
        raise InputError(first["msg"], file=str(path), place=place,
                         fix="see the hints format in references/hints.md") from None


def run(args: argparse.Namespace) -> int:
    from dmodel.design import design
    from dmodel.generate import write_files
    from dmodel.loaders import load_inputs
    from dmodel.model import Conventions

    hints = load_hints(args.hints)
    loaded = load_inputs([str(path) for path in args.inputs], args.format)
    conventions = Conventions(id_type="TEXT" if args.text_ids else "INTEGER", timestamps=not args.no_timestamps)
    model = design(loaded, hints, conventions)
    write_files({args.output: model.to_json()})

    report = model.report
    summary = {
        "ok": True,
        "model": str(args.output),
        "tables": len(model.entities),
        "relationships": len(model.relationships),
        "seed_rows": sum(len(seed.rows) for seed in model.seed.values()),
        "decisions": len(report.decisions),
        "questions": [{"code": q.code, "subject": q.subject, "question": q.question, "hint": q.hint}
                      for q in report.questions[:10]],
        "questions_total": len(report.questions),
        "warnings": [{"code": w.code, "subject": w.subject, "message": w.message} for w in report.warnings[:10]],
        "warnings_total": len(report.warnings),
    }
    if args.json:
        from dmodel.cli import emit_json
        emit_json(summary)
    print(f"wrote {args.output}: {summary['tables']} tables, {summary['relationships']} relationships, "
          f"{summary['seed_rows']} seed rows", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning {warning.code} {warning.subject}: {warning.message}", file=sys.stderr)
    for question in report.questions:
        print(f"question {question.code} {question.subject}: {question.question} "
              f"(hint: {json.dumps(question.hint)})", file=sys.stderr)
    return 0
