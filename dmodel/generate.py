"""The generator: entity model in, every output file out.

Files are rendered in memory first and written only when all of them
rendered, so bad input never leaves partial output behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dmodel.d1rules import assert_d1_safe
from dmodel.emit.markdown import render_dictionary, render_indexes
from dmodel.emit.mermaid import render_erd
from dmodel.emit.seed import render_seed
from dmodel.emit.sql import render_schema
from dmodel.errors import InputError
from dmodel.model import Model
from dmodel.tenancy import apply_row_level

@dataclass
class Output:
    """Rendered files, by path, and what the run should report."""

    files: dict[Path, str] = field(default_factory=dict)
    migration: Path | None = None
    rollback: Path | None = None
    warnings: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    tables: int = 0


def generate(model: Model, out_dir: Path, migrations_dir: Path | None = None, *, mask: bool = True,
             allow_destructive: bool = False, renames: dict[str, str] | None = None,
             backfill: dict[str, str] | None = None) -> Output:
    """Render every output file of ``model`` into memory and check every SQL file against D1's rules.

    The migration is planned from the difference between the replayed
    ``migrations_dir`` and ``schema.sql``. ``renames`` are rename hints,
    ``allow_destructive`` lets the plan drop tables and columns, and
    ``backfill`` maps ``"table.column"`` to the SQL value that fills a new
    NOT NULL column in existing rows.
    """
    if model.tenancy.mode == "row-level":
        model = apply_row_level(model)
    migrations_dir = migrations_dir or out_dir / "migrations"
    output = Output(tables=len(model.entities))
    output.files[out_dir / "schema.sql"] = render_schema(model)
    output.files[out_dir / "erd.mmd"] = render_erd(model)
    output.files[out_dir / "seed.sql"] = render_seed(model, mask=mask)
    output.files[out_dir / "indexes.md"] = render_indexes(model)
    output.files[out_dir / "schema.md"] = render_dictionary(model)
    _add_migration(output.files[out_dir / "schema.sql"], migrations_dir, output,
                   allow_destructive=allow_destructive, renames=renames, backfill=backfill)
    for path, content in output.files.items():
        if path.suffix == ".sql":
            assert_d1_safe(content, str(path))
    return output


def _add_migration(schema_sql: str, migrations_dir: Path, output: Output, *, allow_destructive: bool,
                   renames: dict[str, str] | None, backfill: dict[str, str] | None) -> None:
    """Plan the next migration from the migrations folder to ``schema_sql`` and record it in dmodel.sum."""
    from dmodel import ledger
    from dmodel.plan import next_migration_number, plan_migration

    migration_plan = plan_migration(schema_sql, migrations_dir, renames=renames, allow_destructive=allow_destructive,
                                    backfill=backfill)
    output.warnings += migration_plan.warnings
    output.refused += [f"refused {operation.code} {operation.reason}. {operation.proposal}"
                       for operation in migration_plan.refused]
    if not migration_plan.operations:
        return
    name = f"{next_migration_number(migrations_dir):04d}_{migration_plan.slug}.sql"
    forward = migration_plan.forward_sql()
    output.migration = migrations_dir / name
    output.rollback = migrations_dir / "rollback" / name
    output.files[output.migration] = forward
    output.files[output.rollback] = migration_plan.rollback_sql(name)
    output.files[migrations_dir / ledger.SUM_FILE] = ledger.with_migration(migrations_dir, name, forward)


def changed_files(files: dict[Path, str]) -> list[Path]:
    """Return the files whose content on disk differs from ``files`` (missing files included)."""
    changed = []
    for path, content in files.items():
        try:
            if path.read_bytes() != content.encode("utf-8"):
                changed.append(path)
        except FileNotFoundError:
            changed.append(path)
    return changed


def write_files(files: dict[Path, str]) -> None:
    """Write every file with LF line endings, creating folders as needed."""
    for path, content in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
        except OSError as error:
            raise InputError(f"cannot write the file: {error.strerror}", file=str(path),
                             fix="choose an output folder you can write to") from None


def initial_migration(model: Model) -> tuple[str, str]:
    """Return the first migration of ``model`` and its rollback, as generate writes them into an empty folder."""
    from dmodel.plan import plan_migration

    if model.tenancy.mode == "row-level":
        model = apply_row_level(model)
    migration_plan = plan_migration(render_schema(model), None)
    return migration_plan.forward_sql(), migration_plan.rollback_sql(f"0001_{migration_plan.slug}.sql")


def check_model(model: Model, file: str) -> None:
    """Raise InputError at the first name in ``model`` that points at nothing (a hand-edited model.json)."""
    tables = {entity.name: entity for entity in model.entities}
    if len(tables) != len(model.entities):
        raise InputError("two tables share one name", file=file, place="$.entities",
                         fix="give every table its own name")
    for number, entity in enumerate(model.entities):
        here = f"$.entities[{number}]"
        columns = {column.name for column in entity.columns}
        named = [("primary_key", entity.primary_key)]
        named += [(f"unique_constraints[{index}]", group) for index, group in enumerate(entity.unique_constraints)]
        named += [(f"indexes[{index}].columns", index_.columns) for index, index_ in enumerate(entity.indexes)]
        named += [(f"foreign_keys[{index}].columns", key.columns) for index, key in enumerate(entity.foreign_keys)]
        for place, names in named:
            missing = [name for name in names if name not in columns]
            if missing:
                raise InputError(f"table {entity.name} has no column {missing[0]}", file=file,
                                 place=f"{here}.{place}", fix=f"use a column of {entity.name}, or add it to columns")
        for index, key in enumerate(entity.foreign_keys):
            parent = tables.get(key.ref_table)
            place = f"{here}.foreign_keys[{index}]"
            if parent is None:
                raise InputError(f"foreign key of {entity.name} references unknown table {key.ref_table}", file=file,
                                 place=f"{place}.ref_table", fix="name a table of the model, or remove the foreign key")
            missing = [name for name in key.ref_columns if name not in {column.name for column in parent.columns}]
            if missing or len(key.ref_columns) != len(key.columns):
                raise InputError(f"foreign key of {entity.name} references columns {key.ref_columns} of "
                                 f"{parent.name}, which do not match", file=file, place=f"{place}.ref_columns",
                                 fix=f"name as many columns of {parent.name} as the key has")
    for table, seed in model.seed.items():
        if table not in tables:
            raise InputError(f"seed names unknown table {table}", file=file, place=f"$.seed.{table}",
                             fix="remove the seed entry or add the table")
        known = {column.name for column in tables[table].columns}
        missing = [name for name in seed.columns if name not in known]
        if missing:
            raise InputError(f"seed of {table} names unknown column {missing[0]}", file=file,
                             place=f"$.seed.{table}.columns", fix=f"use columns of {table}")
        for number, row in enumerate(seed.rows):
            if len(row) != len(seed.columns):
                raise InputError(f"seed row {number} of {table} has {len(row)} values for {len(seed.columns)} "
                                 "columns", file=file, place=f"$.seed.{table}.rows[{number}]",
                                 fix="give every row one value per seed column")
