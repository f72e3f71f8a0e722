"""Benchmark migration planning and replay.

    .venv/bin/python benchmarks/migrations.py            # the recorded run
    .venv/bin/python benchmarks/migrations.py --quick    # 100 and 1,000 tables only

Measures, for schemas of 100 to 10,000 tables: planning and rendering a
migration between two versions of the schema (``plan_migration``, which
replays the folder, introspects both sides, compares, plans, and checks the
plan and its rollback on a scratch database), and replaying a folder of 300
migrations. Each time is also given as a ratio to a reference measured in
the same run: SQLite itself executing the same schema script in memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dmodel import introspect  # noqa: E402
from dmodel.introspect import current_schema  # noqa: E402
from dmodel.plan import plan_migration  # noqa: E402

ACTIONS = ["CASCADE", "SET NULL", "RESTRICT", "NO ACTION"]


def schema_sql(tables: int, *, changed: bool = False) -> str:
    """Return a schema of ``tables`` tables; ``changed`` gives the next version of it.

    Each table has eight columns, a foreign key to an earlier table (one in
    four with CASCADE) and two indexes. The next version adds a column to
    one table in ten, widens a type in one in a hundred (a rebuild), adds an
    index to one in fifty and adds tables at the end.
    """
    statements = []
    total = tables + (tables // 100 if changed else 0)
    for number in range(total):
        parent = f"t{(number * 7) // 10}" if number else None
        columns = [
            "id INTEGER PRIMARY KEY",
            f"parent_id INTEGER REFERENCES {parent} (id) ON DELETE {ACTIONS[number % 4]}" if parent
            else "parent_id INTEGER",
            "name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200)",
            "status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived'))",
            f"amount_cents {'REAL' if changed and number % 100 == 3 else 'INTEGER'} NOT NULL DEFAULT 0",
            "payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))",
            "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            "updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        ]
        if changed and number % 10 == 5:
            columns.append("note TEXT")
        body = ",\n  ".join(columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS t{number} (\n  {body}\n) STRICT;")
        statements.append(f"CREATE INDEX IF NOT EXISTS idx_t{number}__parent_id ON t{number} (parent_id);")
        statements.append(f"CREATE INDEX IF NOT EXISTS idx_t{number}__status ON t{number} (status, created_at) "
                          "WHERE status = 'active';")
        if changed and number % 50 == 7:
            statements.append(f"CREATE INDEX IF NOT EXISTS idx_t{number}__name ON t{number} (name);")
    return "\n".join(statements) + "\n"


def clear_caches() -> None:
    """Empty the parse caches, so that every run starts cold."""
    for cached in (introspect.tokenize, introspect.normalize_sql, introspect._identifiers,
                   introspect.parse_create_table):
        cached.cache_clear()


def best_of(runs: int, action) -> float:
    """Return the median wall time of ``runs`` calls, in seconds, each with cold parse caches."""
    times = []
    for _ in range(runs):
        clear_caches()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sqlite_reference(sql: str) -> float:
    """Return the time SQLite takes to execute ``sql`` into a new in-memory database."""
    def run() -> None:
        connection = sqlite3.connect(":memory:")
        connection.executescript(sql)
        connection.close()
    return best_of(3, run)


def measure_plan(tables: int, runs: int, *, verify: bool) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "0001_initial_schema.sql").write_text(schema_sql(tables))
        target = schema_sql(tables, changed=True)
        result = {}

        def plan_and_render() -> None:
            plan = plan_migration(target, folder, verify=verify)
            result["operations"] = len(plan.operations)
            result["bytes"] = len(plan.forward_sql()) + len(plan.rollback_sql())

        seconds = best_of(runs, plan_and_render)
    reference = sqlite_reference(schema_sql(tables))
    return {"tables": tables, "seconds": seconds, "reference": reference, **result}


def measure_replay(migrations: int, runs: int) -> dict:
    """Replay a folder of ``migrations`` files: one initial schema of 100 tables, then one change each."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "0001_initial_schema.sql").write_text(schema_sql(100))
        for number in range(2, migrations + 1):
            table = f"t{number % 100}"
            if number % 3:
                sql = f"ALTER TABLE {table} ADD COLUMN c{number} TEXT;\n"
            else:
                sql = f"CREATE INDEX IF NOT EXISTS idx_{table}__c{number} ON {table} (name, status);\n"
            (folder / f"{number:04d}_change_{number}.sql").write_text(sql)
        seconds = best_of(runs, lambda: current_schema(folder))
        script = "\n".join(path.read_text() for path in sorted(folder.glob("*.sql")))
    return {"migrations": migrations, "seconds": seconds, "reference": sqlite_reference(script)}


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="measure 100 and 1,000 tables only")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else [100, 1000, 3000, 10000]

    print(f"machine: {machine()}")
    print("plan and render a migration between two versions of a schema "
          "(median of 3 runs, 1 run from 3,000 tables up)")
    print("reference: SQLite executing the same schema script into an empty in-memory database")
    print(f"{'tables':>7} {'ops':>5} {'plan s':>8} {'checked s':>10} {'sqlite s':>9} {'plan/sqlite':>12} "
          f"{'checked/sqlite':>15}")
    for tables in sizes:
        runs = 3 if tables < 3000 else 1
        quick = measure_plan(tables, runs, verify=False)
        checked = measure_plan(tables, runs, verify=True) if tables <= 3000 else None
        checked_text = f"{checked['seconds']:>10.3f}" if checked else f"{'-':>10}"
        ratio_text = f"{checked['seconds'] / quick['reference']:>15.1f}" if checked else f"{'-':>15}"
        print(f"{tables:>7} {quick['operations']:>5} {quick['seconds']:>8.3f} {checked_text} "
              f"{quick['reference']:>9.3f} {quick['seconds'] / quick['reference']:>12.1f} {ratio_text}")

    print("replay a migrations folder (median of 3 runs)")
    row = measure_replay(300, runs=3)
    print(f"{row['migrations']:>4} migrations: {row['seconds']:.3f} s; sqlite one script {row['reference']:.4f} s; "
          f"ratio {row['seconds'] / row['reference']:.0f}")


if __name__ == "__main__":
    main()
