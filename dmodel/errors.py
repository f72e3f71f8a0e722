"""Errors that the CLI turns into a message and an exit status."""

from __future__ import annotations


class DmodelError(Exception):
    """Base class for errors that carry a user-facing message."""

    exit_status = 2


class InputError(DmodelError):
    """Invalid input: names the file, the place in it and the fix.

    The CLI prints ``file: place: message. fix`` and exits with status 2.
    """

    def __init__(self, message: str, *, file: str | None = None, place: str | None = None,
                 fix: str | None = None) -> None:
        self.message = message
        self.file = file
        self.place = place
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        location = ": ".join(part for part in (self.file, self.place) if part)
        text = f"{location}: {self.message}" if location else self.message
        if self.fix:
            text = f"{text.rstrip('.')}. Fix: {self.fix}"
        return text

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "place": self.place, "message": self.message, "fix": self.fix}


class LimitError(InputError):
    """A D1 limit that the generated schema or SQL would exceed."""


def json_path(location: tuple | list) -> str:
    """Turn a pydantic error location into a JSON path such as ``$.entities[2].name``."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
