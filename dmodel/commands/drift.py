"""``dmodel drift``: compare a migrations folder with a live SQLite or local D1 database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drift", help="report differences between the migrations folder and a live database",
        description="Replay the migrations folder into a scratch database and compare it with a SQLite file "
                    "or a wrangler local D1 state: tables, columns, indexes, triggers and constraints that "
                    "differ, and migrations pending, unknown to the folder, or edited after dmodel.sum recorded "
                    "them. Exit 0 when clean, 1 on drift, 2 on bad input.")
    parser.add_argument("--migrations", required=True, type=Path, metavar="DIR",
                        help="wrangler migrations folder (the NNNN_name.sql files and dmodel.sum)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", type=Path, metavar="PATH",
                        help="SQLite database file, or a wrangler state folder (.wrangler/state/v3/d1) "
                             "that holds exactly one .sqlite file; opened read-only")
    target.add_argument("--d1", metavar="DATABASE_ID",
                        help="a remote D1 database, read through the REST API with CLOUDFLARE_ACCOUNT_ID "
                             "and CLOUDFLARE_D1_TOKEN from the environment")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="with --d1: the Cloudflare API base URL (default: the public API)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the drift report) on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dmodel.drift import detect_drift, find_database
    from dmodel.introspect import connection_executor, open_read_only

    if args.d1:
        from dmodel.d1client import DEFAULT_BASE_URL, D1Client

        database = f"D1 database {args.d1}"
        with D1Client.from_env(base_url=args.base_url or DEFAULT_BASE_URL) as client:
            report = detect_drift(args.migrations, client.executor(args.d1))
    else:
        database = find_database(args.db)
        connection = open_read_only(database)
        try:
            report = detect_drift(args.migrations, connection_executor(connection))
        finally:
            connection.close()
    if args.json:
        payload = report.as_dict()
        payload["database"] = str(database)
        payload["migrations_dir"] = str(args.migrations)
        print(json.dumps(payload))
    print(f"{database}: {report.render_text()}", file=sys.stderr)
    return 0 if report.clean else 1
