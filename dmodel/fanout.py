"""Fan-out: apply one migrations folder to many D1 databases.

Database-per-tenant deployments keep one D1 per client and apply the same
migrations to each. Each database's ``d1_migrations`` ledger is the truth
about what it has, so a run after a failure sends only what is still
pending there and never applies a file twice. Databases are worked on by a
bounded thread pool, and the report lists every database in the order it
was given, whatever order the work finished in.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from dmodel.d1client import D1ApiError, D1Client, Migration
from dmodel.errors import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A database to migrate: its id and, when known, its name."""

    database_id: str
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.database_id


@dataclass
class DatabaseState:
    """One database's migration state after a fan-out run."""

    database_id: str
    name: str | None
    applied_before: list[str] = field(default_factory=list)
    applied_now: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    error: str | None = None
    # False when d1_migrations could not be read, so the lists above are empty, not zero.
    known: bool = True


@dataclass
class FanoutReport:
    """The state of every database of a fan-out run, in target order."""

    states: list[DatabaseState]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return all(state.error is None for state in self.states)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "databases": [asdict(state) for state in self.states],
            "counts": {
                "databases": len(self.states),
                "failed": sum(1 for state in self.states if state.error is not None),
                "applied_now": sum(len(state.applied_now) for state in self.states),
                "pending": sum(len(state.pending) for state in self.states),
            },
        }

    def table(self) -> str:
        """Render the summary table: database, applied before, applied now, pending, error."""
        pending_header = "pending (would apply)" if self.dry_run else "pending"
        header = ("database", "applied before", "applied now", pending_header, "error")
        rows = [header]
        for state in self.states:
            label = f"{state.name} ({state.database_id})" if state.name else state.database_id
            if state.known:
                counts = (str(len(state.applied_before)), _names(state.applied_now), _names(state.pending))
            else:
                counts = ("?", "?", "?")
            rows.append((label, *counts, state.error or ""))
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)


def _names(names: Sequence[str]) -> str:
    if not names:
        return "0"
    if len(names) <= 2:
        return f"{len(names)}: " + ", ".join(names)
    return f"{len(names)}: {names[0]} .. {names[-1]}"


def resolve_targets(client: D1Client, database_ids: Sequence[str] = (),
                    name_prefix: str | None = None) -> list[Target]:
    """Return the databases to migrate: the ids given, then those whose name starts with the prefix.

    An id listed twice, or listed and also matched by the prefix, is kept once.
    """
    if not database_ids and not name_prefix:
        raise InputError("no databases selected", place="arguments",
                         fix="pass --database ID (repeatable) or --prefix NAME")
    targets = [Target(database_id) for database_id in database_ids]
    if name_prefix:
        for database in client.list_databases(name_prefix=name_prefix):
            targets.append(Target(str(database["uuid"]), database.get("name")))
        if len(targets) == len(database_ids):
            raise InputError(f"no database name starts with {name_prefix!r}", place="--prefix",
                             fix="check the prefix against the names in the Cloudflare dashboard")

    unique: dict[str, Target] = {}
    for target in targets:
        known = unique.get(target.database_id)
        if known is None or (known.name is None and target.name):
            unique[target.database_id] = target
    return list(unique.values())


def fan_out(client: D1Client, migrations: Sequence[Migration], targets: Sequence[Target],
            concurrency: int = 4, dry_run: bool = False) -> FanoutReport:
    """Apply ``migrations`` to every target with at most ``concurrency`` databases at once.

    A failure on one database is recorded in its state and stops only that
    database; the others go on.
    """
    if concurrency < 1:
        raise InputError(f"invalid concurrency {concurrency}", place="--concurrency",
                         fix="pass a whole number of 1 or more")

    def migrate(target: Target) -> DatabaseState:
        return _migrate_one(client, migrations, target, dry_run)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="d1-fanout") as pool:
        states = list(pool.map(migrate, targets))
    return FanoutReport(states=states, dry_run=dry_run)


def _migrate_one(client: D1Client, migrations: Sequence[Migration], target: Target,
                 dry_run: bool) -> DatabaseState:
    state = DatabaseState(target.database_id, target.name)
    try:
        outcome = client.apply_migrations(target.database_id, migrations, dry_run=dry_run)
    except D1ApiError as error:
        if error.outcome is not None:
            state.applied_before = error.outcome.applied_before
            state.applied_now = error.outcome.applied_now
            state.pending = error.outcome.pending
            state.error = error.message
        else:
            state.error = f"d1_migrations not read: {error.message}"
            state.known = False
        logger.error("D1 database %s: migration stopped: %s", target.label, error.message)
        return state

    state.applied_before = outcome.applied_before
    state.applied_now = outcome.applied_now
    state.pending = outcome.pending
    logger.info("D1 database %s: %d applied before, %d applied now, %d pending", target.label,
                len(outcome.applied_before), len(outcome.applied_now), len(outcome.pending))
    return state
