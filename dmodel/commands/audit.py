"""``dmodel audit``: append to and verify the platform database's append-only audit log."""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from dataclasses import asdict
from datetime import datetime, timezone

from dmodel.errors import InputError

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit", help="append to or verify the hash-chained audit log of a platform database",
        description="The audit_log table of the platform database is append-only (triggers reject UPDATE and "
                    "DELETE) and hash-chained, so an edit made with the triggers dropped is detectable.")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    verify = actions.add_parser(
        "verify", help="check the hash chain; exit 0 intact, 1 broken, 2 bad input",
        description="Recompute every row's hash in id order. Exit 0 when the chain is intact, 1 when it is "
                    "broken (the first bad row is named), 2 when the database cannot be read.")
    verify.add_argument("database", metavar="DB", help="SQLite file of the platform database")
    verify.add_argument("--head", metavar="HASH",
                        help="row_hash of the last row, recorded earlier outside the database; the chain must "
                             "still contain it, which detects rows cut from the end and a rewritten chain")
    verify.add_argument("--json", action="store_true", help="print one JSON object with the result on stdout")
    verify.set_defaults(func=run_verify)

    append = actions.add_parser(
        "append", help="append one entry with the right hashes",
        description="Append one entry at the end of the chain, computing prev_hash and row_hash.")
    append.add_argument("database", metavar="DB", help="SQLite file of the platform database")
    append.add_argument("--actor", required=True, help="who acted, e.g. a user or a service token name")
    append.add_argument("--action", required=True, help="what was done, e.g. token.revoke")
    append.add_argument("--target", required=True, help="what it was done to, e.g. service_tokens/12")
    append.add_argument("--details", metavar="JSON", default="{}", help="further facts as a JSON object")
    append.add_argument("--at", metavar="TIMESTAMP",
                        help="when it happened, ISO-8601 with a UTC offset (default: now)")
    append.add_argument("--json", action="store_true", help="print the stored entry as one JSON object")
    append.set_defaults(func=run_append)


def run_verify(args: argparse.Namespace) -> int:
    from dmodel.audit import open_database, verify_database
    from dmodel.cli import emit_json

    if args.head is not None and not _HEX64.match(args.head):
        raise InputError(f"--head {args.head!r} is not a row hash", place="--head",
                         fix="pass the 64 lowercase hex characters of a row_hash")
    connection = open_database(args.database, writable=False)
    try:
        result = verify_database(connection, args.head)
    finally:
        connection.close()

    if args.json:
        emit_json({"ok": result.intact, "database": args.database, **result.as_dict()})
    for name in result.missing_triggers:
        print(f"warning: trigger {name} is missing, so the log is not append-only", file=sys.stderr)
    if result.first_break:
        print(f"{args.database}: audit_log row {result.first_break.id}: {result.first_break.reason}",
              file=sys.stderr)
        return 1
    print(f"{args.database}: audit_log chain intact ({result.rows} rows, head {result.head})", file=sys.stderr)
    return 0


def run_append(args: argparse.Namespace) -> int:
    from dmodel.audit import append_entry, open_database
    from dmodel.cli import emit_json

    details = _parse_details(args.details)
    occurred_at = _parse_time(args.at) if args.at else datetime.now(timezone.utc)
    connection = open_database(args.database, writable=True)
    try:
        entry = append_entry(connection, actor=args.actor, action=args.action, target=args.target,
                             occurred_at=occurred_at, details=details)
    except sqlite3.IntegrityError as error:
        raise InputError(f"SQLite rejected the entry: {error}", file=args.database, place="table audit_log",
                         fix="give a non-empty --actor (at most 200 characters), --action (100) and "
                             "--target (500)") from None
    except sqlite3.OperationalError as error:
        raise InputError(f"cannot write the entry: {error}", file=args.database, place="table audit_log",
                         fix="check that the file is writable and that no other program holds a write lock, "
                             "then run the command again") from None
    finally:
        connection.close()

    if args.json:
        emit_json({"ok": True, "database": args.database, "entry": asdict(entry)})
    print(f"appended audit_log row {entry.id} (row_hash {entry.row_hash})", file=sys.stderr)
    return 0


def _parse_details(text: str) -> dict:
    try:
        details = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"--details is not valid JSON: {error.msg} at character {error.pos}", place="--details",
                         fix="pass a JSON object, e.g. --details '{\"reason\": \"rotation\"}'") from None
    if not isinstance(details, dict):
        raise InputError("--details must be a JSON object", place="--details",
                         fix="wrap the value in an object, e.g. --details '{\"note\": ...}'")
    return details


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InputError(f"--at {text!r} is not an ISO-8601 timestamp with a UTC offset", place="--at",
                         fix="write it like 2026-12-04T10:15:00Z or 2026-12-04T11:15:00+01:00")
    return moment
