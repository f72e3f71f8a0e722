"""Benchmark normalization on wide denormalized CSV files.

    .venv/bin/python benchmarks/normalize.py             # the recorded run
    .venv/bin/python benchmarks/normalize.py --quick     # 10,000 rows only

Generates orders exports of 10,000 to 1,000,000 rows by 20 to 40 columns
(four entities to recover, measures, timestamps, free text and flags; see
``wide`` in tests/denormalize.py) and measures, each in its own process so
that peak memory is that process's maximum resident set size:

- ``design``: ``scripts/design_schema.py FILE -o model.json``, the whole
  design step (load, unnest, profile, normalize, model, seed, report);
- ``normalize``: reading the CSV, profiling every column and running
  ``normalize`` and ``match_entities``; the time of those two alone is given
  as ``3nf s``. Files longer than ``--sample`` rows are read as a stream and
  reduced to a uniform sample of that many rows (reservoir sampling, fixed
  seed), which keeps memory flat;
- ``pandas``: one ``pandas.read_csv`` of the file, the cost of parsing it;
- ``hyfd``: desbordante's HyFD discovering the exact FDs with left-hand sides
  of up to three columns, in C++.

pandas and desbordante come from the ``bench`` extra. desbordante is AGPL
licensed, so it is only a benchmark reference and never a dependency of
dmodel.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SIZES = [(10_000, 20), (10_000, 40), (100_000, 30), (1_000_000, 30)]
QUICK_SIZES = [(10_000, 20), (10_000, 40)]
DEFAULT_SAMPLE = 200_000
KINDS = ["design", "normalize", "pandas", "hyfd"]


def write_csv(path: Path, rows: int, columns: int) -> None:
    """Write the generated export in chunks, so that a million rows never sit in memory at once."""
    import denormalize

    chunk = 100_000
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = None
        for start in range(0, rows, chunk):
            names, part = denormalize.wide(min(chunk, rows - start), columns, seed=start)
            for offset, row in enumerate(part):
                row["order_id"] = start + offset + 1
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=names)
                writer.writeheader()
            writer.writerows(part)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_sample(path: Path, sample: int) -> tuple[list[str], list[dict[str, str]], int]:
    """Return the header, a uniform sample of at most ``sample`` rows and the number of rows read."""
    chooser = random.Random(0)
    kept: list[tuple[int, dict[str, str]]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        total = 0
        for total, row in enumerate(reader, start=1):
            if len(kept) < sample:
                kept.append((total, row))
            else:
                slot = chooser.randrange(total)
                if slot < sample:
                    kept[slot] = (total, row)
        # File order, and fresh dicts: rows scattered through memory made the
        # 3NF step twice as slow on the sample as on the same number of rows read.
        kept.sort(key=lambda item: item[0])
        return list(reader.fieldnames or []), [dict(row) for _, row in kept], total


def child_normalize(path: Path, sample: int) -> dict:
    from dmodel.decompose import match_entities, normalize
    from dmodel.profile import convert_value, profile_values
    from dmodel.relation import Relation, RelationSet

    columns, rows, total = read_sample(path, sample)
    relation = Relation(name="orders", columns=columns, rows=rows, dataset=path.name)
    for column in columns:
        profile = profile_values(column, relation.values(column))
        relation.profiles[column] = profile
        for row in rows:
            row[column] = convert_value(row.get(column), profile)
    started = time.perf_counter()
    result = match_entities(normalize(RelationSet(relations={"orders": relation})))
    return {"3nf_seconds": time.perf_counter() - started, "rows_read": total, "rows_used": len(rows),
            "tables": sorted(result.relations)}


def child_design(path: Path) -> dict:
    out = Path(tempfile.mkdtemp()) / "model.json"
    completed = subprocess.run([sys.executable, str(ROOT / "scripts" / "design_schema.py"), str(path), "-o", str(out)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip()[-300:]}
    model = json.loads(out.read_text())
    # The design step runs in a grandchild: report its peak, not this process's.
    return {"tables": sorted(entity["name"] for entity in model["entities"]),
            "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def child_pandas(path: Path) -> dict:
    import pandas

    frame = pandas.read_csv(path)
    return {"rows": len(frame)}


def child_hyfd(path: Path) -> dict:
    import desbordante

    algorithm = desbordante.fd.algorithms.HyFD()
    algorithm.load_data(table=(str(path), ",", True))
    algorithm.execute(max_lhs=3)
    return {"fds": len(algorithm.get_fds())}


def run_child(kind: str, path: Path, sample: int, timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(path), "--sample", str(sample)]
    started = time.perf_counter()
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["seconds"] = elapsed
    return result


def child_main(kind: str, path: Path, sample: int) -> None:
    if kind == "normalize":
        result = child_normalize(path, sample)
    elif kind == "design":
        result = child_design(path)
    elif kind == "pandas":
        result = child_pandas(path)
    else:
        result = child_hyfd(path)
    result.setdefault("peak_mb", peak_memory_mb())
    print(json.dumps(result))


def cell(result: dict, key: str = "seconds", digits: int = 2) -> str:
    if "error" in result:
        return "-"
    return f"{result[key]:.{digits}f}"


def ratio(result: dict, reference: dict) -> str:
    if "error" in result or "error" in reference or not reference.get("seconds"):
        return "-"
    return f"{result['seconds'] / reference['seconds']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="run the 10,000-row files only")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE,
                        help=f"rows the normalize run keeps from a longer file (default {DEFAULT_SAMPLE})")
    parser.add_argument("--design-max-rows", type=int, default=100_000,
                        help="skip the whole design step on files longer than this (default 100000)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds each measured process may run")
    parser.add_argument("--dir", type=Path, help="folder for the generated files (default: a temporary one)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], Path(args.child[1]), args.sample)
        return

    folder = args.dir or Path(tempfile.mkdtemp(prefix="dmodel-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}", file=sys.stderr)
    header = (f"{'rows':>9} {'cols':>4} {'MB':>5}  {'design s':>8} {'design MB':>9}  {'normalize s':>11} "
              f"{'3nf s':>6} {'norm MB':>7}  {'pandas s':>8} {'hyfd s':>7} {'hyfd MB':>7}  "
              f"{'norm/pandas':>11} {'norm/hyfd':>9} {'3nf/hyfd':>8}")
    print(header)
    for rows, columns in QUICK_SIZES if args.quick else SIZES:
        path = folder / f"orders_{rows}x{columns}.csv"
        if not path.exists():
            write_csv(path, rows, columns)
        results = {}
        for kind in KINDS:
            if kind == "design" and rows > args.design_max_rows:
                results[kind] = {"error": "skipped"}
                continue
            results[kind] = run_child(kind, path, args.sample, args.timeout)
            if "error" in results[kind] and results[kind]["error"] != "skipped":
                print(f"  {kind} on {path.name}: {results[kind]['error']}", file=sys.stderr)
        normalized = results["normalize"]
        three_nf = {"seconds": normalized.get("3nf_seconds")} if "error" not in normalized else normalized
        size_mb = path.stat().st_size / 1e6
        print(f"{rows:>9} {columns:>4} {size_mb:>5.0f}  {cell(results['design']):>8} "
              f"{cell(results['design'], 'peak_mb', 0):>9}  {cell(normalized):>11} {cell(three_nf):>6} "
              f"{cell(normalized, 'peak_mb', 0):>7}  {cell(results['pandas']):>8} {cell(results['hyfd']):>7} "
              f"{cell(results['hyfd'], 'peak_mb', 0):>7}  {ratio(normalized, results['pandas']):>11} "
              f"{ratio(normalized, results['hyfd']):>9} {ratio(three_nf, results['hyfd']):>8}", flush=True)
        if "error" not in normalized and normalized["rows_used"] < normalized["rows_read"]:
            print(f"{'':>16}normalize used a uniform sample of {normalized['rows_used']:,} of "
                  f"{normalized['rows_read']:,} rows; tables: {', '.join(normalized['tables'])}", flush=True)


if __name__ == "__main__":
    main()
