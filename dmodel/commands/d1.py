"""``dmodel fanout``: apply one migrations folder to many remote D1 databases."""

from __future__ import annotations

import argparse
import sys

from dmodel.d1client import ACCOUNT_VARIABLE, DEFAULT_BASE_URL, TOKEN_VARIABLE, D1Client, list_migrations
from dmodel.d1rules import lint_sql
from dmodel.errors import InputError
from dmodel.fanout import fan_out, resolve_targets


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fanout",
        help="apply a migrations folder to many remote D1 databases",
        description=(
            "Apply the top-level .sql files of a migrations folder, in wrangler's order, to each "
            "selected D1 database through the REST API. Each database's d1_migrations table "
            "decides what is pending, so a run after a failure resumes without applying anything "
            "twice. Credentials come from the environment: "
            f"{ACCOUNT_VARIABLE} and {TOKEN_VARIABLE}. Exit status: 0 every database is up to "
            "date (or, with --dry-run, was read), 1 at least one database failed, 2 bad input."),
    )
    parser.add_argument("migrations", metavar="MIGRATIONS_DIR",
                        help="the migrations folder (wrangler's migrations_dir)")
    parser.add_argument("--database", dest="database_ids", action="append", default=[], metavar="ID",
                        help="a database id (UUID) to migrate; repeat the option for more")
    parser.add_argument("--prefix", metavar="NAME",
                        help="also migrate every database of the account whose name starts with NAME")

    parser.add_argument("--concurrency", type=int, default=4, metavar="N",
                        help="how many databases are migrated at the same time (default: 4)")
    parser.add_argument("--dry-run", action="store_true",
                        help="read each database's d1_migrations and show what would be applied; change nothing")
    parser.add_argument("--no-lint", action="store_true",
                        help="skip the D1 rules check of the migration files before applying them")

    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, metavar="URL",
                        help=f"the Cloudflare API base URL (default: {DEFAULT_BASE_URL})")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="timeout of each HTTP request in seconds (default: 30)")
    parser.add_argument("--retries", type=int, default=5, metavar="N",
                        help="retries of a request after 429, 5xx or a connection error (default: 5)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with each database's state on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    migrations = list_migrations(args.migrations)
    if not migrations:
        raise InputError("the folder contains no .sql migrations", file=args.migrations,
                         fix="pass the folder that holds the NNNN_<slug>.sql files")
    if not args.no_lint:
        _lint(migrations)
    if args.concurrency < 1:
        raise InputError(f"invalid concurrency {args.concurrency}", place="--concurrency",
                         fix="pass a whole number of 1 or more")

    with D1Client.from_env(base_url=args.base_url, timeout=args.timeout, max_retries=args.retries) as client:
        targets = resolve_targets(client, args.database_ids, args.prefix)
        report = fan_out(client, migrations, targets, concurrency=args.concurrency, dry_run=args.dry_run)

    if args.json:
        from dmodel.cli import emit_json
        emit_json({**report.as_dict(), "migrations": [migration.name for migration in migrations]})
        print(report.table(), file=sys.stderr)
    else:
        print(report.table())
    return 0 if report.ok else 1


def _lint(migrations: list) -> None:
    findings = [finding for migration in migrations
                for finding in lint_sql(migration.read(), file=str(migration.path))]
    if findings:
        first = findings[0]
        listed = "; ".join(f"{finding.file}:{finding.line}: {finding.code} {finding.message}"
                           for finding in findings)
        raise InputError(f"{len(findings)} D1 rule finding(s), nothing was applied: {listed}",
                         file=first.file, place=f"line {first.line}",
                         fix=f"{first.fix} Run 'dmodel lint' on the folder for the full list, "
                             "or pass --no-lint to apply anyway")
