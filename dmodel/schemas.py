"""Publish JSON Schemas of the three documents dmodel reads and writes.

``python -m dmodel.schemas`` rewrites ``schemas/*.schema.json`` in the
checkout from the pydantic models; ``--check`` only reports stale files and
exits 1. The text is deterministic (sorted keys, two-space indent, LF, final
newline), so a model change shows up as a diff of the schema files.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Sequence

from pydantic import BaseModel

from dmodel.discovery import Discovery
from dmodel.hints import Hints
from dmodel.model import Model

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# File name in schemas/ -> the model it describes.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "discovery.schema.json": Discovery,
    "hints.schema.json": Hints,
    "model.schema.json": Model,
}

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent.parent / "schemas"


def render_schema(model: type[BaseModel]) -> str:
    """Return the JSON Schema text of ``model`` as it is committed."""
    schema = {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema(mode="validation")}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[str, str]:
    """Return the text of every schema file, keyed by file name."""
    return {name: render_schema(model) for name, model in SCHEMA_MODELS.items()}


def stale_files(directory: pathlib.Path = SCHEMA_DIR) -> list[str]:
    """Return the names of schema files that are missing or differ from the models."""
    stale = []
    for name, text in render_all().items():
        path = directory / name
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            stale.append(name)
    return stale


def write_all(directory: pathlib.Path = SCHEMA_DIR) -> list[pathlib.Path]:
    """Write every schema file into ``directory`` and return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = directory / name
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dmodel.schemas",
        description="Write the JSON Schemas of the discovery, hints and model documents.")
    parser.add_argument("--dir", type=pathlib.Path, default=SCHEMA_DIR,
                        help=f"folder to write the schema files into (default: {SCHEMA_DIR.name}/ in the checkout)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a schema file is missing or stale")
    args = parser.parse_args(argv)

    if args.check:
        stale = stale_files(args.dir)
        for name in stale:
            print(f"{args.dir / name}: stale, run 'python -m dmodel.schemas' to rewrite it", file=sys.stderr)
        return 1 if stale else 0

    for path in write_all(args.dir):
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
