"""``dmodel overlap``: which entities and fields recur across several clients, and what belongs in the standard."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from dmodel.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "overlap", help="compare several clients' discovery data and recommend what belongs in the standard model",
        description="Map each client's discovery data onto the CRM standard, cluster entities and fields into "
                    "shared concepts by normalized names and synonyms, and print a concept x client matrix with a "
                    "recommendation for each concept.")
    parser.add_argument("inputs", nargs="+", metavar="DISCOVERY",
                        help="one discovery document or folder per client (at least two)")
    parser.add_argument("-o", "--out", type=Path, metavar="DIR", help="write overlap.md and overlap.json into DIR")
    parser.add_argument("--threshold", default="2/3", metavar="SHARE",
                        help="share of clients from which a concept counts as shared, as a fraction (2/3) or "
                             "a decimal (0.67); default 2/3")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (clients, summary, concepts with their matrix rows) on stdout")
    parser.set_defaults(func=run)


def parse_threshold(text: str) -> Fraction:
    """Read a share written as ``2/3`` or ``0.67``."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--threshold {text!r} is not a number", place="--threshold",
                         fix="write a share such as 2/3 or 0.67") from None
    return value.limit_denominator(100)


def run(args: argparse.Namespace) -> int:
    from dmodel.cli import emit_json
    from dmodel.generate import write_files
    from dmodel.loaders import load_inputs
    from dmodel.overlap import client_name, overlap, render_markdown

    threshold = parse_threshold(args.threshold)
    inputs = []
    for path in args.inputs:
        loaded = load_inputs([path])
        inputs.append((client_name(loaded, Path(path).stem), loaded))
    report = overlap(inputs, threshold)

    files: dict[Path, str] = {}
    if args.out:
        files[args.out / "overlap.md"] = render_markdown(report)
        files[args.out / "overlap.json"] = report.to_json()
        write_files(files)
    if args.json:
        emit_json({"ok": True, "files": sorted(str(path) for path in files), **report.to_dict()})
    elif not args.out:
        print(render_markdown(report), end="")
    print(f"compared {len(report.clients)} clients: {len(report.concepts)} entity concepts"
          + (f"; wrote {len(files)} files to {args.out}" if files else ""), file=sys.stderr)
    return 0
