"""The platform database's append-only audit log: appending entries and verifying the hash chain.

Triggers in the schema reject UPDATE and DELETE on ``audit_log``, but anyone
who can drop a trigger can edit a row. The hash chain makes such an edit
detectable: each row stores ``prev_hash`` (the ``row_hash`` of the row
before it, or 64 zeros for the first row) and ``row_hash``, the hex SHA-256
of ``prev_hash``, a newline and the row's canonical content. The canonical
content is the JSON object of ``id``, ``occurred_at``, ``actor``,
``action``, ``target`` and ``details`` (the stored text) with sorted keys,
no spaces and UTF-8 kept as is.

The chain has no secret key, so two edits leave a valid chain: removing
rows from the end, and changing a row and recomputing every hash after it.
To detect those too, keep the ``row_hash`` of the last row somewhere the
database's writers cannot change, and pass it later as ``expected_head``
(``dmodel audit verify --head``): a chain that no longer contains it was cut
or rewritten.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dmodel.emit.seed import sql_literal
from dmodel.errors import InputError

GENESIS_HASH = "0" * 64
AUDIT_TABLE = "audit_log"
AUDIT_COLUMNS = ("id", "occurred_at", "actor", "action", "target", "details", "prev_hash", "row_hash")
GUARD_TRIGGERS = ("audit_log_reject_update", "audit_log_reject_delete")
_CREATE_FIX = "create the platform database with 'dmodel standard platform -o DIR' and apply its migration"


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log, as stored."""

    id: int
    occurred_at: str
    actor: str
    action: str
    target: str
    details: str
    prev_hash: str
    row_hash: str


@dataclass
class ChainBreak:
    """The first row whose hashes do not follow from the rows before it."""

    id: int
    reason: str


@dataclass
class Verification:
    """Result of verifying the chain: intact or the first break, and guards that are missing."""

    rows: int
    head: str
    first_break: ChainBreak | None = None
    missing_triggers: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.first_break is None

    def as_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, **asdict(self)}


def canonical_content(entry_id: int, occurred_at: str, actor: str, action: str, target: str, details: str) -> str:
    """Return the canonical JSON text of a row's content, which its row_hash covers."""
    content = {"id": entry_id, "occurred_at": occurred_at, "actor": actor, "action": action, "target": target,
               "details": details}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_row_hash(prev_hash: str, entry_id: int, occurred_at: str, actor: str, action: str, target: str,
                     details: str) -> str:
    """Return the hex SHA-256 over the previous row's hash and this row's canonical content."""
    text = prev_hash + "\n" + canonical_content(entry_id, occurred_at, actor, action, target, details)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_details(details: Any) -> str:
    """Return details as the stored JSON text: an object with sorted keys and no spaces."""
    if details is None:
        details = {}
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_timestamp(moment: datetime) -> str:
    """Return an aware datetime as ISO-8601 UTC with milliseconds, the form the schema's defaults use."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps need a time zone")
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def open_database(path: Path | str, *, writable: bool) -> sqlite3.Connection:
    """Open an existing SQLite database with an audit_log table, or raise InputError naming what is missing."""
    location = Path(path)
    if not location.is_file():
        raise InputError("database file not found", file=str(path), fix=_CREATE_FIX)
    mode = "rw" if writable else "ro"
    connection = sqlite3.connect(f"{location.resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({AUDIT_TABLE})")]
    except sqlite3.DatabaseError as error:
        connection.close()
        raise InputError(f"not a SQLite database: {error}", file=str(path),
                         fix="pass the SQLite file of the platform database") from None
    missing = [name for name in AUDIT_COLUMNS if name not in columns]
    if not columns or missing:
        connection.close()
        problem = f"table {AUDIT_TABLE} not found" if not columns else \
            f"table {AUDIT_TABLE} lacks the columns {', '.join(missing)}"
        raise InputError(problem, file=str(path), place=f"table {AUDIT_TABLE}", fix=_CREATE_FIX)
    return connection


def next_entry(previous: AuditEntry | None, *, actor: str, action: str, target: str, occurred_at: datetime,
               details: Any = None) -> AuditEntry:
    """Return the entry that follows ``previous`` (None for the first), with its id and both hashes."""
    details_text = canonical_details(details)
    timestamp = format_timestamp(occurred_at)
    entry_id = previous.id + 1 if previous else 1
    prev_hash = previous.row_hash if previous else GENESIS_HASH
    row_hash = compute_row_hash(prev_hash, entry_id, timestamp, actor, action, target, details_text)
    return AuditEntry(entry_id, timestamp, actor, action, target, details_text, prev_hash, row_hash)


def insert_sql(entry: AuditEntry) -> str:
    """Return the INSERT statement of one entry, for databases reached through SQL text (a D1 over its API)."""
    values = ", ".join(sql_literal(value) for value in asdict(entry).values())
    return f"INSERT INTO {AUDIT_TABLE} ({', '.join(AUDIT_COLUMNS)}) VALUES ({values});"


def append_entry(connection: sqlite3.Connection, *, actor: str, action: str, target: str,
                 occurred_at: datetime, details: Any = None) -> AuditEntry:
    """Append one entry at the end of the chain, in one write transaction, and return it as stored.

    ``BEGIN IMMEDIATE`` takes the write lock before the last row is read, so
    two writers cannot both extend the same row.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        last = connection.execute(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT_TABLE} ORDER BY id DESC LIMIT 1").fetchone()
        entry = next_entry(AuditEntry(*last) if last else None, actor=actor, action=action, target=target,
                           occurred_at=occurred_at, details=details)
        connection.execute(f"INSERT INTO {AUDIT_TABLE} ({', '.join(AUDIT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           list(asdict(entry).values()))
        connection.execute("COMMIT")
    except sqlite3.Error:
        connection.execute("ROLLBACK")
        raise
    return entry


def read_entries(connection: sqlite3.Connection) -> list[AuditEntry]:
    """Return every row of the audit log in id order."""
    rows = connection.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT_TABLE} ORDER BY id").fetchall()
    return [AuditEntry(*row) for row in rows]


def verify_entries(entries: list[AuditEntry], expected_head: str | None = None) -> Verification:
    """Check that each row links to the row before it and that its row_hash matches its content."""
    previous = GENESIS_HASH
    result = Verification(rows=len(entries), head=GENESIS_HASH)
    seen_expected_head = expected_head is None
    for entry in entries:
        if entry.prev_hash != previous:
            result.first_break = ChainBreak(entry.id, "prev_hash does not match the row_hash of the row before it: "
                                            "a row was removed, inserted or its hash rewritten")
            return result
        recomputed = compute_row_hash(entry.prev_hash, entry.id, entry.occurred_at, entry.actor, entry.action,
                                      entry.target, entry.details)
        if entry.row_hash != recomputed:
            result.first_break = ChainBreak(entry.id, "row_hash does not match the row's content: the row was "
                                            "changed after it was written")
            return result
        previous = entry.row_hash
        result.head = entry.row_hash
        seen_expected_head = seen_expected_head or entry.row_hash == expected_head
    if not seen_expected_head:
        last_id = entries[-1].id if entries else 0
        result.first_break = ChainBreak(last_id + 1, f"the expected head {expected_head} is not in the chain: "
                                        "rows were removed from the end of the log or the chain was rewritten")
    return result


def verify_database(connection: sqlite3.Connection, expected_head: str | None = None) -> Verification:
    """Verify the chain of the audit log in ``connection`` and list guard triggers that are missing."""
    result = verify_entries(read_entries(connection), expected_head)
    present = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (AUDIT_TABLE,))}
    result.missing_triggers = [name for name in GUARD_TRIGGERS if name not in present]
    return result
