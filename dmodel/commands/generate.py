"""``dmodel generate``: entity model in; DDL, migration, rollback, ERD, seed and docs out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dmodel.errors import InputError, json_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="generate D1 SQL, migrations, ERD, seed and docs from an entity model",
        description="Write schema.sql, the next numbered migration and its rollback, erd.mmd, seed.sql, "
                    "indexes.md and schema.md from model.json. Output is deterministic.")
    parser.add_argument("model", type=Path, metavar="MODEL.json", help="entity model written by design")
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--migrations", type=Path, metavar="DIR",
                        help="wrangler migrations folder to continue (default: DIR/migrations); "
                             "rollbacks go to its rollback/ subfolder")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when any output file would change")
    parser.add_argument("--no-mask", action="store_true",
                        help="put personal data into seed.sql unmasked (masked by default)")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="let the migration drop tables and columns, narrow types and add NOT NULL to "
                             "columns that may hold NULLs (refused by default, with expand/contract steps)")
    parser.add_argument("--backfill", action="append", default=[], metavar="TABLE.COLUMN=SQL",
                        help="SQL value (such as 'unknown' in quotes, or 0) that fills a new NOT NULL column "
                             "without a default in existing rows; repeat the option for more columns")
    parser.add_argument("--hints", type=Path, metavar="HINTS.json",
                        help="hints file whose 'rename' entries turn a dropped and an added name into a rename")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (paths, counts, warnings) on stdout")
    parser.set_defaults(func=run)


def load_model(path: Path):
    from pydantic import ValidationError

    from dmodel.model import Model
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("model file not found", file=str(path),
                         fix="run 'dmodel design ... -o MODEL.json' first, or check the path") from None
    try:
        return Model.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            raise InputError(first["msg"], file=str(path),
                             fix="regenerate the model with 'dmodel design'") from None
        place = json_path(first["loc"])
        raise InputError(first["msg"], file=str(path), place=place,
                         fix="correct the value, or regenerate the model with 'dmodel design'") from None


def parse_backfill(values: list[str]) -> dict[str, str]:
    """Turn ``--backfill TABLE.COLUMN=SQL`` options into a mapping, rejecting malformed ones."""
    backfill = {}
    for value in values:
        name, separator, expression = value.partition("=")
        if not separator or name.count(".") != 1 or not expression.strip() or not all(name.split(".")):
            raise InputError(f"invalid --backfill value {value!r}", place="--backfill",
                             fix="write TABLE.COLUMN=SQL, such as --backfill \"deals.stage='new'\"")
        backfill[name.strip()] = expression.strip()
    return backfill


def run(args: argparse.Namespace) -> int:
    from dmodel.generate import changed_files, check_model, generate, write_files

    model = load_model(args.model)
    check_model(model, str(args.model))
    from dmodel.commands.design import load_hints

    # The model carries the rename hints it was designed with; --hints adds to them.
    renames = {**model.renames, **load_hints(args.hints).rename}
    output = generate(model, args.out, args.migrations, mask=not args.no_mask,
                      allow_destructive=args.allow_destructive, renames=renames,
                      backfill=parse_backfill(args.backfill))
    changed = changed_files(output.files)
    summary = {
        "ok": True,
        "out": str(args.out),
        "files": sorted(str(path) for path in output.files),
        "migration": str(output.migration) if output.migration else None,
        "rollback": str(output.rollback) if output.rollback else None,
        "tables": output.tables,
        "indexes": sum(len(entity.indexes) for entity in model.entities),
        "seed_rows": sum(len(seed.rows) for seed in model.seed.values()),
        "changed": sorted(str(path) for path in changed),
        "warnings": output.warnings[:20],
        "refused": output.refused[:20],
    }
    if args.check:
        summary["ok"] = not changed
        if args.json:
            print(json.dumps(summary))
        for path in changed:
            print(f"would change: {path}", file=sys.stderr)
        return 1 if changed else 0
    if output.refused:
        # A migration without the rejected changes would leave the database short of the model, so nothing is
        # written until a flag or hint resolves each rejection.
        summary["ok"] = False
        if args.json:
            print(json.dumps(summary))
        for line in output.refused:
            print(line, file=sys.stderr)
        print(f"dmodel generate: {len(output.refused)} change(s) refused, nothing written; answer each as it "
              "proposes (--backfill, a rename hint, or --allow-destructive) and run again", file=sys.stderr)
        return 1
    write_files(output.files)
    if args.json:
        print(json.dumps(summary))
    print(f"wrote {len(output.files)} files to {args.out}"
          + (f"; new migration {output.migration}" if output.migration else "; no new migration"),
          file=sys.stderr)
    return 0
