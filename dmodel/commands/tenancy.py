"""``dmodel tenancy``: recommend row-level or one database per tenant, and write the choice into the model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dmodel.errors import InputError

APPLY_CHOICES = ("row-level", "database-per-tenant", "none", "recommended")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tenancy", help="recommend row-level or database-per-tenant isolation and apply it to a model",
        description="Weigh the discovery's tenancy facts (tenants, data volume, isolation, residency, "
                    "cross-tenant reporting, per-tenant customisation) against D1's limits and recommend "
                    "row-level isolation or one database per tenant, with the reasons. With MODEL and --apply, "
                    "write the choice into the model's tenancy so that generate emits the matching DDL.")
    parser.add_argument("discovery", type=Path, metavar="DISCOVERY", help="discovery document with a tenancy section")
    parser.add_argument("model", type=Path, nargs="?", metavar="MODEL.json",
                        help="entity model written by design; needed for --apply")
    parser.add_argument("--apply", choices=APPLY_CHOICES, metavar="MODE",
                        help="write this tenancy mode into the model: row-level, database-per-tenant, none, or "
                             "recommended (the planner's choice)")
    parser.add_argument("-o", "--output", type=Path, metavar="MODEL_OUT",
                        help="where --apply writes the model (default: MODEL itself)")
    parser.add_argument("--assume-databases-per-account", type=int, metavar="N",
                        help="D1 databases the account may hold (default: 50,000, the conservative published "
                             "paid-plan figure)")
    parser.add_argument("--global", dest="make_global", action="append", default=[], metavar="TABLE",
                        help="with --apply row-level: keep TABLE shared by all tenants, without tenant_id; "
                             "repeat for more tables")
    parser.add_argument("--tenant-scoped", dest="keep_scoped", action="append", default=[], metavar="TABLE",
                        help="with --apply row-level: give TABLE a tenant_id even when it looks like lookup data; "
                             "repeat for more tables")
    parser.add_argument("--registry-out", type=Path, metavar="DIR",
                        help="generate the control database's tenant registry (schema, migration, docs) into DIR")
    parser.add_argument("--migrations", type=Path, metavar="DIR",
                        help="the tenant schema's existing migrations folder; with --apply, plan the migration "
                             "from it to the chosen tenancy and report what the switch needs")
    parser.add_argument("--write-migration", action="store_true",
                        help="with --apply row-level and --migrations: write the planned switch as the next "
                             "migration and its rollback; existing rows go to the default tenant (id 1)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (recommendation, reasons, warnings, files) on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dmodel.loaders import load_inputs
    from dmodel.model import Warning
    from dmodel.tenancy import DATABASES_PER_ACCOUNT, recommend

    if args.apply and args.model is None:
        raise InputError("--apply needs the entity model to write into", place="MODEL.json",
                         fix="pass the model written by 'dmodel design' after DISCOVERY")
    loaded = load_inputs([str(args.discovery)])
    figure = args.assume_databases_per_account
    if figure is None:
        figure = DATABASES_PER_ACCOUNT
    try:
        recommendation = recommend(loaded.discovery.tenancy, figure)
    except InputError as error:
        if error.place and error.place.startswith("$"):
            raise InputError(error.message, file=str(args.discovery), place=error.place, fix=error.fix) from None
        raise

    summary: dict[str, Any] = {"ok": True, "discovery": str(args.discovery), **recommendation.to_dict(),
                               "reasons": recommendation.reasons()}
    warnings = list(recommendation.warnings)
    if "tenancy" not in loaded.discovery.model_fields_set:
        warnings.append(Warning(
            code="T313", subject=str(args.discovery), message="the input has no tenancy section that dmodel read",
            fix='add "tenancy": {"tenants": N, "data_volume_gb": GB, ...}; a document without entities or '
                'datasets also needs "format": "dmodel.discovery/v1" to be read as a discovery document'))
    if args.model is not None:
        _apply(args, recommendation, summary, warnings)
    if args.registry_out is not None:
        summary["registry_files"] = _write_registry(args.registry_out)
    summary["warnings"] = [warning.model_dump() for warning in warnings]
    summary["questions"] = [question.model_dump() for question in recommendation.questions]

    if args.json:
        from dmodel.cli import emit_json
        emit_json(summary)
    _print_report(summary)
    return 0


def _apply(args: argparse.Namespace, recommendation, summary: dict[str, Any], warnings: list) -> None:
    """Load MODEL; with --apply, write the chosen tenancy into it and plan the switch when it changes."""
    from dmodel.commands.generate import load_model
    from dmodel.tenancy import apply_row_level, choose, switch_warning

    model = load_model(args.model)
    summary["model"] = str(args.model)
    summary["current_mode"] = model.tenancy.mode
    if not args.apply:
        return
    mode = recommendation.mode if args.apply == "recommended" else args.apply
    reasons = recommendation.reasons()
    if mode != recommendation.mode:
        reasons = [f"chosen with --apply {mode} although the planner recommends {recommendation.mode}", *reasons]
    chosen = choose(model, mode, reasons, make_global=args.make_global, keep_scoped=args.keep_scoped)
    target = apply_row_level(chosen) if mode == "row-level" else chosen

    existing = _existing_migrations(args.migrations)
    if args.write_migration and (mode != "row-level" or not existing):
        raise InputError("--write-migration writes the switch to row-level of a schema that already has migrations",
                         place="--write-migration",
                         fix="pass --apply row-level and --migrations with the tenant schema's migrations folder; "
                             "a switch away from row-level moves rows between databases and is planned by hand")
    if model.tenancy.mode != mode and (model.tenancy.mode != "none" or existing):
        warnings.append(switch_warning(model.tenancy.mode, mode))
    if existing:
        summary["migration_plan"] = _plan_switch(target, args.migrations, args.write_migration, warnings)

    output = args.output or args.model
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(chosen.to_json())
    summary.update({"applied": mode, "model_out": str(output), "global_tables": chosen.tenancy.global_tables})


def _existing_migrations(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    if not folder.is_dir():
        raise InputError("migrations folder not found", file=str(folder),
                         fix="pass the folder that holds the tenant schema's NNNN_<slug>.sql files")
    return sorted(folder.glob("*.sql"))


def _plan_switch(target, migrations: Path, write: bool, warnings: list) -> dict[str, Any]:
    """Plan the migration from the existing migrations to ``target``; with ``write``, write it into the folder.

    Existing rows are backfilled with the default tenant, whose row the
    migration inserts right after it creates the tenant table.
    """
    from dmodel import ledger
    from dmodel.d1rules import assert_d1_safe
    from dmodel.emit.sql import render_schema
    from dmodel.generate import write_files
    from dmodel.model import Warning
    from dmodel.plan import PlanError, next_migration_number, plan_migration
    from dmodel.tenancy import default_tenant_sql, switch_backfill

    backfill = switch_backfill(target)
    try:
        plan = plan_migration(render_schema(target), migrations, backfill=backfill)
    except PlanError as error:
        warnings.append(Warning(code="T312", subject=str(migrations), message=f"the migration planner failed: {error}",
                                fix="write the switch by hand: add the tenant table, then rebuild each tenant-scoped "
                                    "table with tenant_id filled from the default tenant"))
        return {"error": str(error), "backfill": backfill}
    tenant_table = target.tenancy.tenant_table
    for operation in plan.operations:
        if operation.code == "MF102" and any(change.subject == tenant_table for change in operation.changes):
            operation.forward.append(default_tenant_sql(tenant_table))
    summary: dict[str, Any] = {
        "backfill": backfill,
        "operations": [{"code": operation.code, "safety": operation.safety.value, "reason": operation.reason}
                       for operation in plan.operations],
        "refused": [{"code": operation.code, "reason": operation.reason, "proposal": operation.proposal}
                    for operation in plan.refused],
        "migration": None,
    }
    if not write or not plan.operations:
        return summary
    if plan.refused:
        raise InputError(f"the planner refused {len(plan.refused)} change(s) of the switch, so no migration was "
                         "written",
                         file=str(migrations), fix="run without --write-migration to see the refused changes and "
                                                   "the steps proposed for them")
    name = f"{next_migration_number(migrations):04d}_row_level_tenancy.sql"
    forward = plan.forward_sql()
    files = {migrations / name: forward, migrations / "rollback" / name: plan.rollback_sql(name),
             migrations / ledger.SUM_FILE: ledger.with_migration(migrations, name, forward)}
    for path, content in files.items():
        if path.suffix == ".sql":
            assert_d1_safe(content, str(path))
    write_files(files)
    summary["migration"] = str(migrations / name)
    return summary


def _write_registry(out_dir: Path) -> list[str]:
    from dmodel.generate import generate, write_files
    from dmodel.tenancy import registry_model

    registry = registry_model("control")
    output = generate(registry, out_dir)
    write_files(output.files)
    return sorted(str(path) for path in output.files)


def _print_report(summary: dict[str, Any]) -> None:
    lines = [f"recommended: {summary['recommended']} ({summary['summary']})"]
    for factor in summary["factors"]:
        weight = "required" if factor["required"] else f"weight {factor['weight']}"
        lines.append(f"  {factor['code']} favours {factor['favours']} ({weight}): {factor['message']}")
    lines += [f"  {assumption}" for assumption in summary["assumptions"]]
    if "applied" in summary:
        lines.append(f"wrote tenancy {summary['applied']} into {summary['model_out']}")
        if summary["global_tables"]:
            lines.append(f"  shared by all tenants: {', '.join(summary['global_tables'])}")
    for operation in summary.get("migration_plan", {}).get("operations", []):
        lines.append(f"  planned {operation['code']} ({operation['safety']}): {operation['reason']}")
    for operation in summary.get("migration_plan", {}).get("refused", []):
        lines.append(f"  refused {operation['code']}: {operation['reason']}")
    if summary.get("migration_plan", {}).get("migration"):
        lines.append(f"wrote the switch as {summary['migration_plan']['migration']}")
    if summary.get("registry_files"):
        lines.append(f"wrote the tenant registry ({len(summary['registry_files'])} files); apply the same tenant "
                     "migrations to every tenant database with 'dmodel fanout MIGRATIONS_DIR --database ID ...'")
    for warning in summary["warnings"]:
        lines.append(f"warning {warning['code']} {warning['subject']}: {warning['message']}. Fix: {warning['fix']}")
    for question in summary["questions"]:
        lines.append(f"question {question['code']} {question['subject']}: {question['question']} "
                     f"(hint: {json.dumps(question['hint'])})")
    print("\n".join(lines), file=sys.stderr)
