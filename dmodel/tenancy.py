"""Tenancy planning: recommend row-level or one database per tenant, and build the schema for it.

The recommendation weighs the discovery's tenancy facts against D1's
limits, as Cloudflare's D1 limits and data location pages state them. A
database holds at most 10 GB on the paid plan, and Cloudflare does not raise
that. A database runs one query at a time. Its jurisdiction is fixed when it
is created. Published figures for databases per account disagree (50,000,
or up to 1,000,000 on the paid plan), so the planner assumes the
conservative 50,000 unless told otherwise, and says so.

Requirements decide alone; leanings are weighed against each other.

==========================================================  ====================  ======
fact                                                        favours               weight
==========================================================  ====================  ======
residency in more than one region                           database-per-tenant   required
isolation stated as separate, dedicated or physical         database-per-tenant   required
total volume above 80 % of 10 GB (8 GB)                     database-per-tenant   required
more tenants than the databases-per-account figure, less 1  row-level             required
total volume above 50 % of 10 GB (5 GB)                     database-per-tenant   2
more than 100 tenants                                       database-per-tenant   2
per-tenant customisation                                    database-per-tenant   2
cross-tenant reporting                                      row-level             2
at most 10 tenants and at most 5 GB in total                row-level             1
isolation stated as row-level, shared or logical            row-level             1
==========================================================  ====================  ======

Total volume is ``data_volume_gb`` (per tenant) times ``tenants``. When
requirements point both ways, a shared database cannot hold the data and
the account cannot hold the databases: the planner picks one database per
tenant, because the account limit can be raised and the 10 GB limit cannot,
and warns. Equal weights go to row-level, which leaves one database to
migrate, back up and query. One tenant, or no tenancy facts at all, gives
mode ``none``.

``apply_row_level`` turns a model into its row-level form. Every
tenant-scoped table gets ``tenant_id`` and composite foreign keys
``(tenant_id, parent_id) REFERENCES parent (tenant_id, id)``, so SQLite
itself rejects a row that points at another tenant's row. ``registry_model``
is the control database's model for one database per tenant.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from dmodel.conventions import index_name, quote_identifier, unique_name
from dmodel.discovery import TenancyFacts
from dmodel.entities import NOW_UTC
from dmodel.errors import InputError, LimitError
from dmodel.model import (Column, Decision, Entity, ForeignKey, Index, Model, Question, SeedTable,
                          TenancyMode, Warning)

# Maximum size of one D1 database on the paid plan; Cloudflare does not raise it.
D1_MAX_DATABASE_GB = 10.0
# The lower of the two published figures for databases per account on the paid plan.
DATABASES_PER_ACCOUNT = 50_000
# A shared database above this share of 10 GB has no room to grow: one database per tenant is required.
SHARED_VOLUME_REQUIRED_SHARE = 0.8
# A shared database above this share of 10 GB leans towards one database per tenant.
SHARED_VOLUME_LEAN_SHARE = 0.5
MANY_TENANTS = 100
HANDFUL_OF_TENANTS = 10
# Databases the account needs besides the tenants' own: the control database with the registry.
CONTROL_DATABASES = 1

ROW_LEVEL: TenancyMode = "row-level"
DATABASE_PER_TENANT: TenancyMode = "database-per-tenant"

# Words of the discovery's free-text ``isolation`` fact, after lowercasing and folding spaces
# and underscores to hyphens.
_SEPARATE_WORDS = {"database-per-tenant", "database", "separate", "separate-database", "dedicated",
                   "dedicated-database", "physical", "strict", "silo"}
_SHARED_WORDS = {"row-level", "row", "rows", "shared", "shared-database", "logical", "pool", "tenant-id"}

SLUG_CHECK = "{column} <> '' AND {column} NOT GLOB '*[^a-z0-9-]*'"
DEFAULT_TENANT_ID = 1
DEFAULT_TENANT_SLUG = "default"
DEFAULT_TENANT_NAME = "Default tenant"


@dataclass(frozen=True)
class Factor:
    """One fact that favours a tenancy mode; ``weight`` None means it is a requirement."""

    code: str
    favours: TenancyMode
    weight: int | None
    message: str

    @property
    def required(self) -> bool:
        return self.weight is None


@dataclass
class Recommendation:
    """The recommended tenancy mode, the facts weighed and what the planner assumed."""

    mode: TenancyMode
    factors: list[Factor] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    databases_per_account: int = DATABASES_PER_ACCOUNT
    total_volume_gb: float | None = None
    summary: str = ""

    def reasons(self) -> list[str]:
        """Return the sentences that justify ``mode``: the summary, then the facts that favour it."""
        supporting = [f"{factor.code}: {factor.message}" for factor in self.factors if factor.favours == self.mode]
        return [self.summary, *supporting, *self.assumptions]

    def weights(self) -> dict[str, int]:
        totals = {ROW_LEVEL: 0, DATABASE_PER_TENANT: 0}
        for factor in self.factors:
            if factor.weight is not None:
                totals[factor.favours] += factor.weight
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommended": self.mode,
            "summary": self.summary,
            "weights": self.weights(),
            "factors": [{**asdict(factor), "required": factor.required} for factor in self.factors],
            "assumptions": list(self.assumptions),
            "databases_per_account": self.databases_per_account,
            "total_volume_gb": self.total_volume_gb,
            "warnings": [warning.model_dump() for warning in self.warnings],
            "questions": [question.model_dump() for question in self.questions],
        }


# ---------------------------------------------------------------------------------------------
# Recommendation


def recommend(facts: TenancyFacts, databases_per_account: int = DATABASES_PER_ACCOUNT) -> Recommendation:
    """Recommend a tenancy mode from the discovery's tenancy facts and D1's limits."""
    _check_facts(facts, databases_per_account)
    result = Recommendation(mode="none", databases_per_account=databases_per_account)
    result.assumptions = _assumptions(databases_per_account)
    regions = residency_regions(facts.residency)
    isolation = isolation_word(facts.isolation)
    if facts.isolation and isolation is None:
        result.questions.append(Question(
            code="T311", subject="tenancy.isolation",
            question=f"the isolation requirement '{facts.isolation}' is not one the planner knows; "
                     "does the client need separate databases or is a shared database acceptable?",
            options=["database-per-tenant", "row-level"],
            hint={"tenancy": "database-per-tenant"}))

    signals_tenancy = bool(len(regions) > 1 or isolation or facts.cross_tenant_reporting
                           or facts.per_tenant_customization)
    if facts.tenants is None and not signals_tenancy:
        result.summary = "no tenancy facts: the schema serves a single client and needs no tenant isolation"
        result.questions.append(_tenant_count_question())
        return result
    if facts.tenants is not None and facts.tenants <= 1:
        result.summary = "one tenant needs no tenant isolation"
        return result
    if facts.tenants is None:
        result.questions.append(_tenant_count_question())

    result.total_volume_gb = _total_volume(facts)
    result.factors = _factors(facts, regions, isolation, result.total_volume_gb, databases_per_account)
    _decide(result)
    result.warnings.extend(_consequences(result, facts, databases_per_account))
    return result


def residency_regions(residency: list[str] | str | None) -> list[str]:
    """Return the distinct regions of the residency fact, uppercased and sorted (``"us, EU"`` -> EU, US)."""
    if residency is None:
        return []
    items = residency if isinstance(residency, list) else re.split(r"[,;/]", residency)
    return sorted({str(item).strip().upper() for item in items if str(item).strip()})


def _check_facts(facts: TenancyFacts, databases_per_account: int) -> None:
    if facts.tenants is not None and facts.tenants < 0:
        raise InputError(f"tenants is {facts.tenants}; the expected number of tenants cannot be negative",
                         place="$.tenancy.tenants", fix="give the expected number of tenants, 1 or more")
    if facts.data_volume_gb is not None and facts.data_volume_gb < 0:
        raise InputError(f"data_volume_gb is {facts.data_volume_gb}; a data volume cannot be negative",
                         place="$.tenancy.data_volume_gb", fix="give the expected data per tenant in GB")
    if databases_per_account < 1:
        raise InputError(f"--assume-databases-per-account is {databases_per_account}; it must be 1 or more",
                         place="--assume-databases-per-account",
                         fix=f"leave it out to assume {DATABASES_PER_ACCOUNT:,}, or give the account's confirmed limit")


def _assumptions(databases_per_account: int) -> list[str]:
    if databases_per_account == DATABASES_PER_ACCOUNT:
        figure = (f"assumes {DATABASES_PER_ACCOUNT:,} D1 databases per account, the conservative one of the "
                  "published paid-plan figures (50,000, or up to 1,000,000); pass --assume-databases-per-account "
                  "with the account's confirmed limit to change it")
    else:
        figure = (f"assumes {databases_per_account:,} D1 databases per account, as given with "
                  f"--assume-databases-per-account (the conservative published figure is {DATABASES_PER_ACCOUNT:,})")
    return [figure, f"assumes the paid plan's {D1_MAX_DATABASE_GB:g} GB per database, which Cloudflare does not "
                     "raise (the free plan allows 500 MB)"]


def isolation_word(isolation: str | None) -> str | None:
    """Return ``separate`` or ``shared`` for a known isolation fact, else None."""
    if not isolation:
        return None
    word = re.sub(r"[\s_]+", "-", isolation.strip().lower())
    if word in _SEPARATE_WORDS:
        return "separate"
    if word in _SHARED_WORDS:
        return "shared"
    return None


def _total_volume(facts: TenancyFacts) -> float | None:
    if facts.data_volume_gb is None:
        return None
    return round(facts.data_volume_gb * (facts.tenants or 1), 3)


def _tenant_count_question() -> Question:
    return Question(code="T310", subject="tenancy.tenants",
                    question="how many tenants does the client expect, now and in two years?",
                    hint={"tenancy": {"tenants": "NUMBER"}})


def _factors(facts: TenancyFacts, regions: list[str], isolation: str | None, total_gb: float | None,
             databases_per_account: int) -> list[Factor]:
    """List every fact that favours a mode, requirements first, in a fixed order."""
    found: list[Factor] = []
    if len(regions) > 1:
        found.append(Factor("T101", DATABASE_PER_TENANT, None,
                            f"data must stay in {len(regions)} regions ({', '.join(regions)}); a D1 database has one "
                            "location, fixed when it is created, so each region needs databases of its own"))
    if isolation == "separate":
        found.append(Factor("T102", DATABASE_PER_TENANT, None,
                            f"the client requires {facts.isolation} isolation, which rows in a shared database "
                            "cannot give"))
    limit_gb = D1_MAX_DATABASE_GB * SHARED_VOLUME_REQUIRED_SHARE
    lean_gb = D1_MAX_DATABASE_GB * SHARED_VOLUME_LEAN_SHARE
    if total_gb is not None and total_gb > limit_gb:
        found.append(Factor("T103", DATABASE_PER_TENANT, None,
                            f"{total_gb:g} GB in total is above {limit_gb:g} GB, 80 % of D1's "
                            f"{D1_MAX_DATABASE_GB:g} GB per database, so one shared database has no room to grow"))
    available = databases_per_account - CONTROL_DATABASES
    if facts.tenants is not None and facts.tenants > available:
        found.append(Factor("T106", ROW_LEVEL, None,
                            f"{facts.tenants:,} tenants need more databases than the {databases_per_account:,} "
                            f"per account assumed (one is kept for the control database)"))
    if total_gb is not None and lean_gb < total_gb <= limit_gb:
        found.append(Factor("T104", DATABASE_PER_TENANT, 2,
                            f"{total_gb:g} GB in total would fill more than half of one {D1_MAX_DATABASE_GB:g} GB "
                            "database"))
    if facts.tenants is not None and facts.tenants > MANY_TENANTS:
        found.append(Factor("T107", DATABASE_PER_TENANT, 2,
                            f"{facts.tenants:,} tenants would share one database, and D1 runs one query at a time "
                            "per database, so a busy tenant slows every other one"))
    if facts.per_tenant_customization:
        found.append(Factor("T109", DATABASE_PER_TENANT, 2,
                            "tenants are customised one by one; a database of their own can carry extra tables "
                            "and be restored or deleted without touching the others"))
    if facts.cross_tenant_reporting:
        found.append(Factor("T108", ROW_LEVEL, 2,
                            "reports across tenants are one SQL query in a shared database; across databases they "
                            "need a query per tenant and aggregation in application code"))
    small = total_gb is None or total_gb <= lean_gb
    if facts.tenants is not None and facts.tenants <= HANDFUL_OF_TENANTS and small:
        volume = f" with {total_gb:g} GB in total" if total_gb is not None else ""
        found.append(Factor("T105", ROW_LEVEL, 1,
                            f"{facts.tenants} tenants{volume} fit one database with room to grow"))
    if isolation == "shared":
        found.append(Factor("T110", ROW_LEVEL, 1, f"the client asked for {facts.isolation} isolation"))
    return found


def _decide(result: Recommendation) -> None:
    required = {factor.favours for factor in result.factors if factor.required}
    if required == {DATABASE_PER_TENANT, ROW_LEVEL}:
        result.mode = DATABASE_PER_TENANT
        result.summary = ("requirements conflict: one shared database cannot hold the data and the account cannot "
                          "hold a database per tenant; one database per tenant is chosen, because the number of "
                          "databases per account can be raised and the 10 GB per database cannot")
        result.warnings.append(Warning(
            code="T304", subject="tenancy",
            message="one database per tenant needs more databases than the assumed per-account figure",
            fix="ask Cloudflare to raise the account's database limit (published figures reach 1,000,000) and rerun "
                "with --assume-databases-per-account, or spread the tenants over several accounts"))
        return
    if required:
        result.mode = required.pop()
        deciding = [factor.code for factor in result.factors if factor.required]
        result.summary = f"{result.mode} is required ({', '.join(deciding)})"
        return
    weights = result.weights()
    if weights[DATABASE_PER_TENANT] > weights[ROW_LEVEL]:
        result.mode = DATABASE_PER_TENANT
    else:
        result.mode = ROW_LEVEL
    result.summary = (f"{result.mode} weighs more ({weights[result.mode]} against "
                      f"{weights[_other(result.mode)]})")
    if weights[ROW_LEVEL] == weights[DATABASE_PER_TENANT]:
        result.summary = (f"the facts weigh the same ({weights[ROW_LEVEL]} each), so row-level is chosen: one "
                          "database to migrate, back up and query")


def _other(mode: TenancyMode) -> TenancyMode:
    return ROW_LEVEL if mode == DATABASE_PER_TENANT else DATABASE_PER_TENANT


def _consequences(result: Recommendation, facts: TenancyFacts, databases_per_account: int) -> list[Warning]:
    """Warn about what the chosen mode costs, given the facts that favoured the other one."""
    found: list[Warning] = []
    if facts.data_volume_gb is not None and facts.data_volume_gb > D1_MAX_DATABASE_GB:
        found.append(Warning(
            code="T302", subject="tenancy.data_volume_gb",
            message=f"one tenant alone expects {facts.data_volume_gb:g} GB, more than the maximum size of a D1 "
                    f"database ({D1_MAX_DATABASE_GB:g} GB)",
            fix="split that tenant's data over several databases (by year or by region, say); dmodel does not plan "
                "that split"))
    regions = residency_regions(facts.residency)
    if regions:
        found.append(Warning(
            code="T307", subject="tenancy.residency",
            message=f"data must stay in {', '.join(regions)}, and a D1 database's jurisdiction is set when it is "
                    "created and cannot change later",
            fix="create each database with the matching jurisdiction where D1 offers one (for the EU: wrangler d1 "
                "create NAME --jurisdiction eu)"))
    available = databases_per_account - CONTROL_DATABASES
    if (result.mode == DATABASE_PER_TENANT and facts.tenants is not None
            and 0.8 * available < facts.tenants <= available):
        found.append(Warning(
            code="T303", subject="tenancy.tenants",
            message=f"{facts.tenants:,} tenant databases use more than 80 % of the {databases_per_account:,} "
                    "databases per account assumed",
            fix="confirm the account's limit with Cloudflare before onboarding more tenants"))
    if result.mode == DATABASE_PER_TENANT and facts.cross_tenant_reporting:
        found.append(Warning(
            code="T305", subject="tenancy.cross_tenant_reporting",
            message="reports across tenants need one query per tenant database",
            fix="aggregate in the application, or copy report data into a shared analytics database"))
    if result.mode == ROW_LEVEL and facts.per_tenant_customization:
        found.append(Warning(
            code="T306", subject="tenancy.per_tenant_customization",
            message="in a shared database every tenant gets the same tables and columns",
            fix="keep tenant-specific fields in a JSON custom_fields column"))
    return found


def switch_warning(current: TenancyMode, target: TenancyMode) -> Warning | None:
    """Return the warning that switching tenancy needs a migration, or None when nothing switches."""
    if current == target:
        return None
    steps = {
        ROW_LEVEL: "adds tenant_id NOT NULL to every tenant-scoped table and rebuilds their keys and indexes; "
                   "tables that hold rows need a backfill that gives every row its tenant",
        DATABASE_PER_TENANT: "moves each tenant's rows into a database of its own and drops tenant_id; "
                             "export per tenant, import, then retire the shared tables",
        "none": "removes tenant isolation; rows of several tenants must be merged or deleted first",
    }
    return Warning(
        code="T301", subject=f"tenancy {current} -> {target}",
        message=f"switching tenancy from {current} to {target} changes existing databases: it {steps[target]}",
        fix="generate the new schema, then plan the migration from the existing migrations (dmodel plan); "
            "do not edit migrations that were already applied")


# ---------------------------------------------------------------------------------------------
# Global tables


def detect_global_tables(model: Model) -> dict[str, str]:
    """Return lookup tables that hold no tenant data, each with the reason it was detected.

    A table counts as lookup data when other tables reference it, it
    references nothing, it has no personal data, and its natural key is a
    closed set of values (an enum column such as a pipeline stage's name).
    Tables already marked are skipped.
    """
    referenced = {foreign_key.ref_table for entity in model.entities for foreign_key in entity.foreign_keys
                  if foreign_key.ref_table != entity.name}
    found: dict[str, str] = {}
    for entity in model.entities:
        if entity.name in model.tenancy.global_tables or not entity.tenant_scoped:
            continue
        if entity.name == model.tenancy.tenant_table or entity.name not in referenced or entity.foreign_keys:
            continue
        if any(column.pii for column in entity.columns):
            continue
        keys = [column for column in entity.columns if column.unique or entity.primary_key == [column.name]]
        closed = [column.name for column in keys if column.logical_type == "enum" or column.enum_values]
        if closed:
            found[entity.name] = (f"lookup data: other tables reference {entity.name}, it references none, and its "
                                  f"key {closed[0]} is a closed set of values")
    return found


def global_tables(model: Model) -> list[str]:
    """Return the tables that stay shared by all tenants: listed in ``tenancy.global_tables`` or not tenant-scoped."""
    names = set(model.tenancy.global_tables) | {entity.name for entity in model.entities if not entity.tenant_scoped}
    return sorted(names)


def choose(model: Model, mode: TenancyMode, reasons: list[str], *, make_global: list[str] | None = None,
           keep_scoped: list[str] | None = None) -> Model:
    """Return a copy of ``model`` with tenancy ``mode``, its reasons, and the global tables marked.

    For row-level, detected lookup tables become global, then ``make_global``
    adds tables and ``keep_scoped`` takes them out again. The tables
    themselves are left as designed; ``apply_row_level`` adds the columns
    when SQL is generated.
    """
    chosen = model.model_copy(deep=True)
    chosen.tenancy.mode = mode
    chosen.tenancy.reasons = list(reasons)
    if mode != ROW_LEVEL:
        return chosen
    known = {entity.name for entity in chosen.entities}
    for option, names in (("--global", make_global or []), ("--tenant-scoped", keep_scoped or [])):
        for name in names:
            if name not in known:
                raise InputError(f"{option} names table {name}, which the model does not have",
                                 fix=f"use one of: {', '.join(sorted(known))}")
    detected = detect_global_tables(chosen)
    globals_ = (set(global_tables(chosen)) | set(detected) | set(make_global or [])) - set(keep_scoped or [])
    for name in sorted(globals_):
        reason = detected.get(name, "declared global")
        chosen.report.decisions.append(Decision(code="T201", subject=name,
                                                message=f"table {name} is shared by all tenants: {reason}"))
    for entity in chosen.entities:
        if entity.name in (keep_scoped or []):
            entity.tenant_scoped = True
    chosen.tenancy.global_tables = sorted(globals_)
    return chosen


# ---------------------------------------------------------------------------------------------
# Row-level transformation


def apply_row_level(model: Model) -> Model:
    """Return the row-level form of ``model``: a tenant table, tenant_id everywhere, tenant-led keys.

    Every tenant-scoped table gets ``tenant_id INTEGER NOT NULL`` referencing
    the tenant table. Every reference between tenant-scoped tables becomes
    ``(tenant_id, x) REFERENCES parent (tenant_id, y)``, with
    ``UNIQUE (tenant_id, y)`` on the parent, so a row cannot point at another
    tenant's row. Unique constraints and indexes lead with ``tenant_id``.
    Global tables stay as they are. The seed gets one default tenant that
    every seeded row belongs to. A model that already has its tenant table
    comes back unchanged.
    """
    tenancy = model.tenancy
    result = model.model_copy(deep=True)
    existing = {entity.name: entity for entity in result.entities}
    if tenancy.tenant_table in existing:
        if _is_tenant_table(existing[tenancy.tenant_table]):
            return result
        raise InputError(f"the model already has a table {tenancy.tenant_table} that is not a tenant table",
                         place="$.tenancy.tenant_table",
                         fix='name the tenant table something else in model.json, e.g. "tenancy": '
                             '{"tenant_table": "accounts"}')

    shared = set(global_tables(result))
    _check_global_tables(result, shared)
    scoped = [entity for entity in result.entities if entity.name not in shared]
    index_names = {index.name for entity in result.entities for index in entity.indexes}
    for entity in result.entities:
        entity.tenant_scoped = entity.name not in shared

    parent_keys: dict[str, list[list[str]]] = {}
    for entity in scoped:
        _add_tenant_column(entity, tenancy.tenant_column, tenancy.tenant_table)
        _lead_keys(entity, tenancy.tenant_column)
        for foreign_key in entity.foreign_keys[1:]:
            if foreign_key.ref_table in shared:
                continue
            _scope_foreign_key(entity, foreign_key, tenancy.tenant_column, result.report.warnings)
            parent_keys.setdefault(foreign_key.ref_table, []).append(foreign_key.ref_columns)
    for entity in scoped:
        for key in parent_keys.get(entity.name, []):
            _ensure_unique(entity, key)
        _lead_indexes(entity, tenancy.tenant_column, index_names)

    result.entities = [tenant_table(tenancy.tenant_table), *result.entities]
    result.tenancy.global_tables = sorted(shared)
    result.query_patterns = [
        pattern.model_copy(update={"filter": [tenancy.tenant_column, *pattern.filter]})
        if pattern.entity in {entity.name for entity in scoped} and tenancy.tenant_column not in pattern.filter
        else pattern
        for pattern in result.query_patterns]
    result.seed = _seed_with_default_tenant(result, {entity.name for entity in scoped})
    return result


def tenant_table(name: str = "tenants") -> Entity:
    """Return the tenant table: one row per tenant, with a URL-safe slug."""
    return Entity(
        name=name, description="Tenants: every tenant-scoped row belongs to one of them.",
        columns=[
            Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False,
                   description="Tenant id; tenant-scoped tables store it as tenant_id."),
            Column(name="slug", logical_type="text", sqlite_type="TEXT", nullable=False, unique=True,
                   check=SLUG_CHECK.format(column="slug"),
                   description="Short stable name: lowercase letters, digits and hyphens."),
            Column(name="name", logical_type="text", sqlite_type="TEXT", nullable=False,
                   description="Display name of the tenant."),
            Column(name="created_at", logical_type="datetime", sqlite_type="TEXT", nullable=False,
                   default=f"({NOW_UTC})", description="When the tenant was created, ISO-8601 UTC."),
        ],
        primary_key=["id"], tenant_scoped=False)


def _is_tenant_table(entity: Entity) -> bool:
    return [column.name for column in entity.columns] == ["id", "slug", "name", "created_at"]


def _check_global_tables(model: Model, shared: set[str]) -> None:
    known = [entity.name for entity in model.entities]
    for position, name in enumerate(model.tenancy.global_tables):
        if name not in known:
            raise InputError(f"tenancy.global_tables names table {name}, which the model does not have",
                             place=f"$.tenancy.global_tables[{position}]",
                             fix=f"use one of: {', '.join(sorted(known))}")
    for entity in model.entities:
        if entity.name not in shared:
            continue
        for foreign_key in entity.foreign_keys:
            if foreign_key.ref_table not in shared:
                raise InputError(
                    f"global table {entity.name} references tenant-scoped table {foreign_key.ref_table}, so a "
                    "row shared by all tenants would point at one tenant's row",
                    place="$.tenancy.global_tables",
                    fix=f"add {foreign_key.ref_table} to tenancy.global_tables, or take {entity.name} out of it")


def _add_tenant_column(entity: Entity, column: str, table: str) -> None:
    if any(existing.name == column for existing in entity.columns):
        raise InputError(f"table {entity.name} already has a column {column}",
                         place="$.tenancy.tenant_column",
                         fix='name the tenant column something else in model.json, e.g. "tenancy": '
                             '{"tenant_column": "tenant_ref"}')
    if len(entity.columns) + 1 > 100:
        raise LimitError(f"table {entity.name} would have {len(entity.columns) + 1} columns with {column}; D1 "
                         "allows at most 100 per table",
                         place=f"table {entity.name}", fix="split the table with a hint, then apply tenancy again")
    position = max((entity.columns.index(entity.column(name)) for name in entity.primary_key), default=-1) + 1
    entity.columns.insert(position, Column(
        name=column, logical_type="integer", sqlite_type="INTEGER", nullable=False,
        description=f"Tenant that owns the row; references {table}."))
    entity.foreign_keys.insert(0, ForeignKey(
        columns=[column], ref_table=table, ref_columns=["id"], on_delete="RESTRICT",
        reason=f"every row belongs to one tenant; deleting a tenant is rejected until its rows in "
               f"{entity.name} are gone"))


def _lead_keys(entity: Entity, column: str) -> None:
    """Make the primary key (unless it is the rowid) and every unique constraint lead with the tenant column."""
    designed_key = list(entity.primary_key)
    rowid_alias = (len(designed_key) == 1 and not entity.without_rowid
                   and entity.column(designed_key[0]).sqlite_type == "INTEGER")
    if not rowid_alias:
        for name in designed_key:
            entity.column(name).nullable = False
        entity.primary_key = _led_by(column, designed_key)
    groups = [_led_by(column, group) for group in entity.unique_constraints]
    for existing in entity.columns:
        if existing.unique and [existing.name] != designed_key:
            existing.unique = False
            groups.append([column, existing.name])
    entity.unique_constraints = [group for group in _distinct(groups) if group != entity.primary_key]


def _scope_foreign_key(entity: Entity, foreign_key: ForeignKey, column: str, warnings: list[Warning]) -> None:
    """Make a reference between tenant-scoped tables carry the tenant column on both sides."""
    foreign_key.columns = [column, *foreign_key.columns]
    foreign_key.ref_columns = [column, *foreign_key.ref_columns]
    for action in ("on_delete", "on_update"):
        if getattr(foreign_key, action) not in ("SET NULL", "SET DEFAULT"):
            continue
        was = getattr(foreign_key, action)
        setattr(foreign_key, action, "RESTRICT")
        subject = f"{entity.name}({', '.join(foreign_key.columns[1:])}) -> {foreign_key.ref_table}"
        statement = "DELETE" if action == "on_delete" else "UPDATE"
        warnings.append(Warning(
            code="T202", subject=subject,
            message=f"{action.replace('_', ' ').upper()} {was} would also set {column} in {entity.name}, and "
                    f"{column} is NOT NULL, so every {statement} of a referenced {foreign_key.ref_table} row would "
                    "fail; the reference is RESTRICT instead",
            fix=f"before deleting a {foreign_key.ref_table} row, run UPDATE {quote_identifier(entity.name)} SET "
                f"{', '.join(f'{quote_identifier(name)} = NULL' for name in foreign_key.columns[1:])} WHERE "
                f"{quote_identifier(column)} = ? AND ... for the rows that reference it"))
        foreign_key.reason = (foreign_key.reason + "; " if foreign_key.reason else "") + (
            f"RESTRICT instead of {was}: {was} would also change {column}")
        for index in entity.indexes:
            if index.columns == foreign_key.columns[1:]:
                index.reason = index.reason.replace(f"ON {statement} {was}", f"ON {statement} RESTRICT")


def _ensure_unique(entity: Entity, key: list[str]) -> None:
    """Add ``UNIQUE (key)`` unless the primary key or a unique constraint already covers exactly those columns."""
    existing = [entity.primary_key, *entity.unique_constraints,
                *(index.columns for index in entity.indexes if index.unique and index.where is None)]
    if any(set(group) == set(key) and len(group) == len(key) for group in existing):
        return
    entity.unique_constraints.append(list(key))


def _lead_indexes(entity: Entity, column: str, index_names: set[str]) -> None:
    """Make every index lead with the tenant column and cover the tenant column's foreign key."""
    kept: list[Index] = []
    for index in entity.indexes:
        columns = _led_by(column, index.columns)
        if columns == index.columns:
            kept.append(index)
            continue
        name = index.name
        if name == index_name(entity.name, index.columns, index.unique):
            index_names.discard(name)
            name = unique_name(index_name(entity.name, columns, index.unique), index_names)
        kept.append(index.model_copy(update={
            "name": name, "columns": columns, "query": _scoped_query(index.query, column),
            "reason": (index.reason + "; " if index.reason else "") + f"led by {column}, because every query of "
                      "a tenant-scoped table filters by tenant"}))
    entity.indexes = _drop_duplicate_indexes(entity, kept)
    leading = [entity.primary_key, *entity.unique_constraints, *(index.columns for index in entity.indexes)]
    if not any(group[:1] == [column] for group in leading):
        name = unique_name(index_name(entity.name, [column]), index_names)
        entity.indexes.append(Index(name=name, columns=[column],
                                    reason="foreign key to the tenant table: lists and deletes a tenant's rows"))
    entity.indexes.sort(key=lambda index: index.name)


def _drop_duplicate_indexes(entity: Entity, indexes: list[Index]) -> list[Index]:
    """Drop an index whose columns a key or an earlier index already has, with the same uniqueness and filter."""
    kept: list[Index] = []
    keys = [entity.primary_key, *entity.unique_constraints]
    for index in indexes:
        if index.where is None and index.columns in keys:
            continue
        if any(other.columns == index.columns and other.unique == index.unique and other.where == index.where
               for other in kept):
            continue
        kept.append(index)
    return kept


def _scoped_query(query: str | None, column: str) -> str | None:
    """Add ``tenant_id = ?`` to the query text an index serves."""
    if query is None:
        return None
    condition = f"{quote_identifier(column)} = ?"
    if " WHERE " in query:
        return query.replace(" WHERE ", f" WHERE {condition} AND ", 1)
    if " ORDER BY " in query:
        return query.replace(" ORDER BY ", f" WHERE {condition} ORDER BY ", 1)
    return f"{query} WHERE {condition}"


def _seed_with_default_tenant(model: Model, scoped: set[str]) -> dict[str, SeedTable]:
    """Return the seed with one default tenant first and every tenant-scoped row pointing at it."""
    tenancy = model.tenancy
    if not model.seed:
        return {}
    seed = {tenancy.tenant_table: SeedTable(columns=["id", "slug", "name"],
                                            rows=[[DEFAULT_TENANT_ID, DEFAULT_TENANT_SLUG, DEFAULT_TENANT_NAME]])}
    for table, rows in model.seed.items():
        if table in scoped and tenancy.tenant_column not in rows.columns:
            rows = SeedTable(columns=[tenancy.tenant_column, *rows.columns],
                             rows=[[DEFAULT_TENANT_ID, *row] for row in rows.rows])
        seed[table] = rows
    return seed


def switch_backfill(model: Model) -> dict[str, str]:
    """Return the migration planner's backfill for a switch to row-level: existing rows go to the default tenant.

    ``model`` is the row-level form. The keys are ``table.tenant_id`` of
    every tenant-scoped table; the migration must also insert the default
    tenant (``default_tenant_sql``).
    """
    column = model.tenancy.tenant_column
    return {f"{entity.name}.{column}": str(DEFAULT_TENANT_ID) for entity in model.entities
            if entity.tenant_scoped and any(existing.name == column for existing in entity.columns)}


def default_tenant_sql(table: str = "tenants") -> str:
    """Return the INSERT of the default tenant, the one that seeded and backfilled rows belong to."""
    return (f"INSERT INTO {quote_identifier(table)} (id, slug, name) VALUES ({DEFAULT_TENANT_ID}, "
            f"'{DEFAULT_TENANT_SLUG}', '{DEFAULT_TENANT_NAME}');")


def _led_by(column: str, columns: list[str]) -> list[str]:
    return [column, *(name for name in columns if name != column)]


def _distinct(groups: list[list[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    for group in groups:
        if group not in found:
            found.append(group)
    return found


# ---------------------------------------------------------------------------------------------
# Database per tenant: the registry in the control database


def registry_model(name: str = "control") -> Model:
    """Return the control database's model: which D1 database serves which tenant, at which migration."""
    registry = Entity(
        name="tenant_databases",
        description="One row per tenant database: where it is and which migration it has reached.",
        columns=[
            Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False),
            Column(name="tenant_slug", logical_type="text", sqlite_type="TEXT", nullable=False, unique=True,
                   check=SLUG_CHECK.format(column="tenant_slug"),
                   description="Tenant's short stable name: lowercase letters, digits and hyphens."),
            Column(name="database_id", logical_type="uuid", sqlite_type="TEXT", nullable=False, unique=True,
                   check="length(database_id) = 36 AND database_id NOT GLOB '*[^0-9a-f-]*'",
                   description="D1 database id (a lowercase UUID), as wrangler d1 create prints it."),
            Column(name="database_name", logical_type="text", sqlite_type="TEXT", nullable=False,
                   description="D1 database name, the one wrangler commands take."),
            Column(name="jurisdiction", logical_type="text", sqlite_type="TEXT",
                   description="D1 jurisdiction the database was created in (such as eu), or NULL for none."),
            Column(name="migration_level", logical_type="integer", sqlite_type="INTEGER", nullable=False,
                   default="0", check="migration_level >= 0",
                   description="Number (the NNNN prefix) of the last migration applied; 0 before the first."),
            Column(name="updated_at", logical_type="datetime", sqlite_type="TEXT", nullable=False,
                   default=f"({NOW_UTC})", description="When the row last changed, ISO-8601 UTC."),
        ],
        primary_key=["id"], tenant_scoped=False,
        indexes=[Index(name="idx_tenant_databases__migration_level", columns=["migration_level"],
                       reason="finds the tenant databases that are behind the latest migration")])
    return Model(name=name, entities=[registry])
