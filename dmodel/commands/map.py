"""``dmodel map``: map a client's discovery data onto the standard CRM model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dmodel.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "map", help="map discovery data onto the standard CRM model, with confidences and a seed",
        description="Match each source entity and field to a CRM table and column, each with a confidence from 0 "
                    "to 1 and the reason; match pipeline stage values to the standard stages; keep unmapped fields "
                    "in custom_fields; list weak matches as questions with the hint that settles them; and write "
                    "mapped_seed.sql, which moves the sample records into the standard tables.")
    parser.add_argument("inputs", nargs="+", metavar="DISCOVERY",
                        help="discovery document, record file or folder (as for 'dmodel design')")
    parser.add_argument("--to", choices=["crm"], default="crm", help="standard model to map onto (default: crm)")
    parser.add_argument("-o", "--out", type=Path, metavar="DIR",
                        help="write mapping.json, mapping.md and mapped_seed.sql into DIR")
    parser.add_argument("--hints", type=Path, metavar="FILE",
                        help="hints file; its 'mapping' object forces entities, fields, stages and the currency")
    parser.add_argument("--no-mask", action="store_true",
                        help="put personal data into mapped_seed.sql unmasked (masked by default)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (files, entities, stages, questions, warnings, rows) on stdout")
    parser.set_defaults(func=run)


def load_mapping_hints(path: Path):
    """Read a hints file and return its validated ``mapping`` object; the other keys must be valid hints too."""
    from pydantic import ValidationError

    from dmodel.hints import Hints
    from dmodel.mapping import parse_mapping_hints

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("hints file not found", file=str(path), fix="check the path") from None
    except json.JSONDecodeError as error:
        raise InputError(f"invalid JSON: {error.msg}", file=str(path), place=f"line {error.lineno}",
                         fix="correct the JSON syntax") from None
    if not isinstance(data, dict):
        raise InputError("a hints file must hold a JSON object", file=str(path), place="$",
                         fix='write {"mapping": {"fields": {...}, "stages": {...}}}')
    try:
        Hints.model_validate({key: value for key, value in data.items() if key != "mapping"})
    except ValidationError as error:
        first = error.errors()[0]
        place = "$." + ".".join(str(part) for part in first["loc"])
        raise InputError(first["msg"], file=str(path), place=place,
                         fix="remove or correct the key; mapping hints go under 'mapping'") from None
    return parse_mapping_hints(data.get("mapping"), file=str(path))


def run(args: argparse.Namespace) -> int:
    from dmodel.cli import emit_json
    from dmodel.generate import write_files
    from dmodel.loaders import load_inputs
    from dmodel.mapping import map_discovery, render_markdown

    hints = load_mapping_hints(args.hints) if args.hints else None
    result = map_discovery(load_inputs(args.inputs), hints)

    files: dict[Path, str] = {}
    if args.out:
        files[args.out / "mapping.json"] = result.to_json()
        files[args.out / "mapping.md"] = render_markdown(result)
        files[args.out / "mapped_seed.sql"] = result.seed_sql(mask=not args.no_mask)
        write_files(files)

    if args.json:
        emit_json({"ok": True, "files": sorted(str(path) for path in files), **result.to_dict()})
    elif not args.out:
        print(render_markdown(result), end="")
    moved = sum(entity.rows_moved for entity in result.entities)
    print(f"mapped {len(result.entities)} source entities onto the CRM standard {result.version}: {moved} records "
          f"moved, {len(result.questions)} questions"
          + (f"; wrote {len(files)} files to {args.out}" if files else ""), file=sys.stderr)
    return 0
