"""Standard models shipped with dmodel: the CRM database and the per-client platform database.

Each is an entity model (``model.json`` format) stored as package data in
``<name>.json``. Its ``client`` object carries ``standard`` (the name) and
``version``. The version changes whenever a table or column changes, so that
a mapping or a database can state which standard it follows.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from dmodel.errors import InputError
from dmodel.model import Model

STANDARD_NAMES = ("crm", "platform")


@lru_cache(maxsize=None)
def _load_text(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load_standard(name: str) -> Model:
    """Load a standard model by name; every call returns a fresh copy that the caller may change."""
    if name not in STANDARD_NAMES:
        raise InputError(f"unknown standard model {name!r}",
                         fix=f"use one of: {', '.join(STANDARD_NAMES)}")
    return Model.model_validate_json(_load_text(name))


def standard_version(model: Model) -> str:
    """Return the version of a standard model, e.g. ``1.0.0``."""
    return str(model.client["version"])
