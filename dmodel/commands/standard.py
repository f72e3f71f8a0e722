"""``dmodel standard``: generate the files of a built-in standard model (CRM or platform database)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dmodel.standard import STANDARD_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "standard", help="generate a standard model: the CRM database or the per-client platform database",
        description="Write the standard model's model.json, schema.sql, the initial migration and its rollback, "
                    "erd.mmd, seed.sql, indexes.md and schema.md, exactly as 'dmodel generate' writes them. "
                    "crm: customers, initiatives, pipeline stages, opportunities, engagements, Cloudflare "
                    "resources. platform: encrypted service tokens, the append-only audit log, validation runs.")
    parser.add_argument("name", choices=STANDARD_NAMES, help="which standard model")
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--migrations", type=Path, metavar="DIR",
                        help="wrangler migrations folder (default: DIR/migrations); it must be empty or hold "
                             "this model's initial migration")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when any output file would change")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (standard, version, paths, counts) on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dmodel.cli import emit_json
    from dmodel.generate import changed_files, generate, write_files
    from dmodel.standard import load_standard, standard_version

    model = load_standard(args.name)
    output = generate(model, args.out, args.migrations)
    output.files[args.out / "model.json"] = model.to_json()
    changed = changed_files(output.files)
    summary = {
        "ok": not (args.check and changed),
        "standard": args.name,
        "version": standard_version(model),
        "out": str(args.out),
        "files": sorted(str(path) for path in output.files),
        "tables": [entity.name for entity in model.entities],
        "changed": sorted(str(path) for path in changed),
    }
    if args.check:
        for path in changed:
            print(f"would change: {path}", file=sys.stderr)
    else:
        write_files(output.files)
        print(f"wrote the {args.name} standard model {summary['version']} ({len(model.entities)} tables) "
              f"to {args.out}", file=sys.stderr)
    if args.json:
        emit_json(summary)
    return 1 if args.check and changed else 0
