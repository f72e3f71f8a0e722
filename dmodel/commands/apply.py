"""``dmodel apply``: apply SQL files to a SQLite database as D1 would, then verify it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "apply", help="apply migration and seed files to a SQLite database and verify foreign keys",
        description="Run each SQL file in one transaction with foreign keys on (as D1 does), then run "
                    "PRAGMA foreign_key_check and count the rows of every table. Migration files (NNNN_name.sql) "
                    "are recorded in d1_migrations as wrangler records them and skipped when already recorded; "
                    "a rollback/NNNN_name.sql file removes its record.")
    parser.add_argument("database", type=Path, metavar="DB", help="SQLite database file (created if missing)")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.sql", help="SQL files, applied in order")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (files applied, row counts, violations) on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dmodel.apply import apply_files

    args.database.parent.mkdir(parents=True, exist_ok=True)
    result = apply_files(args.database, args.files)
    ok = not result.foreign_key_violations
    if args.json:
        print(json.dumps({"ok": ok, "database": str(args.database), "applied": result.applied, "skipped": result.skipped,
                          "row_counts": result.row_counts,
                          "foreign_key_violations": len(result.foreign_key_violations)}))
    for path in result.applied:
        print(f"applied {path}", file=sys.stderr)
    for path in result.skipped:
        print(f"skipped {path}: already recorded in d1_migrations", file=sys.stderr)
    print(f"{args.database}: {len(result.row_counts)} tables, {sum(result.row_counts.values())} rows", file=sys.stderr)
    for table, count in result.row_counts.items():
        print(f"  {table}: {count} rows", file=sys.stderr)
    for violation in result.foreign_key_violations[:20]:
        print(f"foreign key violation: table {violation[0]}, rowid {violation[1]}, references {violation[2]}",
              file=sys.stderr)
    return 0 if ok else 1
