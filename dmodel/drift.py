"""Drift: compare the schema the migrations folder produces with a live database.

The expected schema is the migrations folder replayed into a scratch
database; the actual schema is read through ``execute(sql) -> list[dict]``
(a SQLite file, a wrangler local state file, or a remote D1 through the REST
client). Besides schema differences, drift covers the migrations themselves:
pending (in the folder, not in the database's ``d1_migrations``), unknown (in
``d1_migrations``, not in the folder) and edited (content no longer matching
``dmodel.sum``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dmodel import ledger
from dmodel.compare import Change, compare
from dmodel.errors import InputError
from dmodel.introspect import Execute, current_schema, introspect, migration_files

# Drift wording of each change code, where the current side is the migrations folder
# and the target side is the live database: (object kind, difference).
_DIFFERENCES = {
    "MF101": ("column", "only in the database"), "BC103": ("column", "only in the database"),
    "MF102": ("table", "only in the database"), "DS102": ("table", "missing from the database"),
    "DS103": ("column", "missing from the database"), "DS104": ("table", "differs"),
    "MF103": ("index", "only in the database"), "MF104": ("index", "missing from the database"),
    "MF105": ("index", "differs"), "MF106": ("trigger", "only in the database"),
    "MF107": ("trigger", "missing from the database"), "MF108": ("trigger", "differs"),
    "MF109": ("view", "only in the database"), "MF110": ("view", "missing from the database"),
    "MF111": ("view", "differs"),
}
WRANGLER_METADATA = "metadata.sqlite"
_CONSTRAINT_CODES = {"RB205", "RB206", "RB207", "RB208", "RB209", "RB210", "RB211", "RB212", "RB213"}


@dataclass
class SchemaDifference:
    """One object that differs between the replayed migrations and the live database."""

    kind: str
    name: str
    difference: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "difference": self.difference, "code": self.code,
                "detail": self.detail}


def describe_difference(change: Change) -> SchemaDifference:
    """Turn a change from the replayed schema to the live one into a drift entry."""
    if change.code in _DIFFERENCES:
        kind, difference = _DIFFERENCES[change.code]
    elif change.code in _CONSTRAINT_CODES:
        kind, difference = "constraint", "differs"
    else:
        kind, difference = "column", "differs"
    name = change.subject if kind in ("table", "index", "trigger", "view") or change.table is None \
        else f"{change.table}.{change.subject}" if kind == "column" else change.table
    return SchemaDifference(kind, name, difference, change.code, change.describe())


@dataclass
class DriftReport:
    """Everything that differs between a migrations folder and a live database."""

    differences: list[SchemaDifference] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    ledger: ledger.LedgerCheck = field(default_factory=ledger.LedgerCheck)
    ledger_found: bool = True

    @property
    def clean(self) -> bool:
        return not (self.differences or self.pending or self.unknown or self.edited
                    or self.ledger.missing or self.ledger.unrecorded)

    def as_dict(self) -> dict:
        return {
            "ok": True,
            "drift": not self.clean,
            "schema": [difference.as_dict() for difference in self.differences],
            "migrations": {"pending": self.pending, "unknown": self.unknown, "edited": self.edited,
                           "d1_migrations_found": self.ledger_found},
            "sum": self.ledger.as_dict(),
        }

    def render_text(self) -> str:
        """Return the report as lines a person reads."""
        lines = []
        if not self.ledger_found:
            lines.append("the database has no d1_migrations table, so pending and unknown migrations "
                         "were not checked")
        if self.clean:
            return "\n".join(["no drift: the database matches the migrations folder", *lines])
        for difference in self.differences:
            lines.append(f"{difference.kind} {difference.name}: {difference.difference} ({difference.detail})")
        lines += [f"migration {name}: pending, not applied to the database" for name in self.pending]
        lines += [f"migration {name}: applied to the database but not in the folder" for name in self.unknown]
        lines += [f"migration {name}: edited after it was recorded in dmodel.sum" for name in self.edited]
        lines += [f"migration {name}: recorded in dmodel.sum but missing from the folder"
                  for name in self.ledger.missing]
        lines += [f"migration {name}: not recorded in dmodel.sum" for name in self.ledger.unrecorded]
        return "\n".join(lines)


def applied_migrations(execute: Execute) -> list[str] | None:
    """Return the names in ``d1_migrations`` in the order applied, or None when the table is missing."""
    found = execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'd1_migrations'")
    if not found:
        return None
    return [str(row["name"]) for row in execute("SELECT name FROM d1_migrations ORDER BY id")]


def detect_drift(migrations_dir: Path, execute: Execute) -> DriftReport:
    """Compare the replayed ``migrations_dir`` with the database behind ``execute``."""
    if not Path(migrations_dir).is_dir():
        raise InputError("migrations folder not found", file=str(migrations_dir),
                         fix="pass the folder that holds the NNNN_name.sql files (wrangler's migrations_dir)")
    expected = current_schema(migrations_dir)
    actual = introspect(execute)
    report = DriftReport()
    report.differences = [describe_difference(change) for change in compare(expected, actual)]

    files = [path.name for path in migration_files(migrations_dir)]
    applied = applied_migrations(execute)
    report.ledger_found = applied is not None
    if applied is not None:
        report.pending = [name for name in files if name not in set(applied)]
        report.unknown = [name for name in applied if name not in set(files)]

    report.ledger = ledger.check(migrations_dir)
    report.edited = list(report.ledger.edited)
    if not report.ledger.recorded:
        report.ledger.unrecorded = []
    return report


def find_database(path: Path) -> Path:
    """Return the SQLite file at ``path``, or the single database file in a wrangler state folder.

    A folder is searched recursively for ``*.sqlite`` files, as wrangler keeps
    them under ``.wrangler/state/v3/d1/``, leaving out workerd's own
    ``metadata.sqlite``.
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise InputError("database not found", file=str(path),
                         fix="pass a SQLite file or a wrangler state folder such as .wrangler/state/v3/d1")
    candidates = sorted(candidate for candidate in path.rglob("*.sqlite")
                        if candidate.is_file() and candidate.name != WRANGLER_METADATA)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError("no .sqlite file in this folder", file=str(path),
                         fix="apply the migrations locally first ('wrangler d1 migrations apply NAME --local'), "
                             "or pass the database file itself")
    listing = ", ".join(str(candidate.relative_to(path)) for candidate in candidates)
    raise InputError(f"{len(candidates)} .sqlite files in this folder: {listing}", file=str(path),
                     fix="pass one of these files with --db")
