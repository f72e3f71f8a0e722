"""The integrity file ``migrations/dmodel.sum``: the SHA-256 of each migration as generated.

wrangler records applied migrations by name only, so an applied file that is
edited afterwards goes unnoticed. ``dmodel.sum`` closes that gap: the
generator records each new migration file, and :func:`check` reports files
edited since they were recorded, recorded files that are missing, and
migration files that were never recorded.

The file has one line per migration, sorted by name: the file name, two
spaces, then ``sha256:`` and the hex digest. Lines starting with ``#`` are
comments. Digests are taken over the file's bytes with CRLF turned into LF,
so a checkout that converts line endings does not count as an edit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from dmodel.errors import InputError
from dmodel.introspect import migration_files

SUM_FILE = "dmodel.sum"
HEADER = ("# dmodel.sum: SHA-256 of each migration file as dmodel generated it.\n"
          "# 'dmodel drift' reports a file whose content no longer matches. Do not edit by hand.\n")
_LINE = re.compile(r"\A(?P<name>\S+)  sha256:(?P<digest>[0-9a-f]{64})\Z")


def digest(content: str | bytes) -> str:
    """Return the SHA-256 hex digest of a migration's content, with CRLF read as LF."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def read(migrations_dir: Path) -> dict[str, str]:
    """Return the recorded digests by file name; an absent ``dmodel.sum`` records nothing."""
    path = Path(migrations_dir) / SUM_FILE
    if not path.is_file():
        return {}
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise InputError("invalid line; expected 'NAME  sha256:HEX'", file=str(path), place=f"line {number}",
                             fix="restore the line from version control, or delete dmodel.sum and run "
                                 "'dmodel generate' to record the current files again")
        entries[match["name"]] = match["digest"]
    return entries


def render(entries: dict[str, str]) -> str:
    """Return the text of ``dmodel.sum`` for ``entries`` (file name -> digest)."""
    lines = [f"{name}  sha256:{entries[name]}" for name in sorted(entries)]
    return HEADER + "".join(line + "\n" for line in lines)


def with_migration(migrations_dir: Path, name: str, content: str) -> str:
    """Return ``dmodel.sum`` with a new migration recorded and every other entry kept.

    When the folder has no ``dmodel.sum`` yet, the migration files already in
    it are recorded as they are now, so that later edits to them show.
    """
    migrations_dir = Path(migrations_dir)
    if (migrations_dir / SUM_FILE).is_file():
        entries = read(migrations_dir)
    else:
        entries = {path.name: digest(path.read_bytes()) for path in migration_files(migrations_dir)}
    entries[name] = digest(content)
    return render(entries)


@dataclass
class LedgerCheck:
    """Migration files compared with ``dmodel.sum``; each list contains file names."""

    edited: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    recorded: bool = True

    @property
    def clean(self) -> bool:
        return not (self.edited or self.missing or self.unrecorded)

    def as_dict(self) -> dict:
        return {"edited": self.edited, "missing": self.missing, "unrecorded": self.unrecorded,
                "sum_file_found": self.recorded}


def check(migrations_dir: Path) -> LedgerCheck:
    """Compare the top-level migration files with ``dmodel.sum``."""
    migrations_dir = Path(migrations_dir)
    entries = read(migrations_dir)
    files = {path.name: path for path in migration_files(migrations_dir)}
    result = LedgerCheck(recorded=(migrations_dir / SUM_FILE).is_file())
    for name in sorted(entries):
        if name not in files:
            result.missing.append(name)
        elif digest(files[name].read_bytes()) != entries[name]:
            result.edited.append(name)
    result.unrecorded = sorted(name for name in files if name not in entries)
    return result
