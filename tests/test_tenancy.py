"""Tenancy: the recommendation at its thresholds, and row-level isolation enforced by real SQLite."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dmodel.apply import apply_sql, connect
from dmodel.cli import main
from dmodel.discovery import TenancyFacts
from dmodel.emit.seed import render_seed
from dmodel.emit.sql import render_schema
from dmodel.errors import InputError
from dmodel.model import Column, Entity, ForeignKey, Index, Model, SeedTable
from dmodel.tenancy import (DATABASES_PER_ACCOUNT, apply_row_level, choose, detect_global_tables, recommend,
                            registry_model, switch_warning)


def integer(name: str, nullable: bool = True, **extra) -> Column:
    return Column(name=name, logical_type="integer", sqlite_type="INTEGER", nullable=nullable, **extra)


def text(name: str, nullable: bool = True, **extra) -> Column:
    return Column(name=name, nullable=nullable, **extra)


def crm_model() -> Model:
    """A small CRM with every kind of reference the row-level transformation must handle."""
    stages = Entity(name="stages", columns=[
        integer("id", False),
        text("name", False, logical_type="enum", unique=True, enum_values=["Lost", "Open", "Won"]),
        integer("probability"),
    ], primary_key=["id"])
    companies = Entity(name="companies", columns=[integer("id", False), text("name", False),
                                                  text("domain", unique=True)], primary_key=["id"])
    contacts = Entity(name="contacts", columns=[
        integer("id", False), text("email", False, logical_type="email", unique=True, pii="email"),
        integer("company_id", False),
    ], primary_key=["id"], foreign_keys=[
        ForeignKey(columns=["company_id"], ref_table="companies", ref_columns=["id"], on_delete="RESTRICT"),
    ], indexes=[Index(name="idx_contacts__company_id", columns=["company_id"])])
    deals = Entity(name="deals", columns=[
        integer("id", False), text("name", False), integer("company_id", False), integer("contact_id"),
        integer("stage_id", False), text("close_date", logical_type="date"),
    ], primary_key=["id"], foreign_keys=[
        ForeignKey(columns=["company_id"], ref_table="companies", ref_columns=["id"], on_delete="RESTRICT"),
        ForeignKey(columns=["contact_id"], ref_table="contacts", ref_columns=["id"], on_delete="SET NULL"),
        ForeignKey(columns=["stage_id"], ref_table="stages", ref_columns=["id"], on_delete="RESTRICT"),
    ], indexes=[
        Index(name="idx_deals__company_id_close_date", columns=["company_id", "close_date"],
              query="SELECT * FROM deals WHERE company_id = ? ORDER BY close_date"),
        Index(name="idx_deals__contact_id", columns=["contact_id"]),
        Index(name="idx_deals__stage_id", columns=["stage_id"]),
    ])
    deal_contacts = Entity(name="deal_contacts", columns=[integer("deal_id", False), integer("contact_id", False)],
                           primary_key=["deal_id", "contact_id"], foreign_keys=[
        ForeignKey(columns=["deal_id"], ref_table="deals", ref_columns=["id"], on_delete="CASCADE"),
        ForeignKey(columns=["contact_id"], ref_table="contacts", ref_columns=["id"], on_delete="CASCADE"),
    ], indexes=[Index(name="idx_deal_contacts__contact_id", columns=["contact_id"])])
    products = Entity(name="products", columns=[integer("id", False), text("sku", False, unique=True),
                                                text("title")], primary_key=["id"])
    line_items = Entity(name="line_items", columns=[
        integer("id", False), integer("deal_id", False), text("sku", False), integer("quantity", False),
    ], primary_key=["id"], foreign_keys=[
        ForeignKey(columns=["deal_id"], ref_table="deals", ref_columns=["id"], on_delete="CASCADE"),
        ForeignKey(columns=["sku"], ref_table="products", ref_columns=["sku"], on_delete="RESTRICT"),
    ], indexes=[Index(name="idx_line_items__deal_id", columns=["deal_id"]),
                Index(name="idx_line_items__sku", columns=["sku"])])
    employees = Entity(name="employees", columns=[integer("id", False), text("name", False), integer("manager_id")],
                       primary_key=["id"], foreign_keys=[
        ForeignKey(columns=["manager_id"], ref_table="employees", ref_columns=["id"], on_delete="SET NULL"),
    ], indexes=[Index(name="idx_employees__manager_id", columns=["manager_id"])])
    seed = {
        "stages": SeedTable(columns=["id", "name", "probability"], rows=[[1, "Open", 20], [2, "Won", 100]]),
        "companies": SeedTable(columns=["id", "name", "domain"], rows=[[1, "Acme", "acme.example"],
                                                                      [2, "Globex", "globex.example"]]),
        "contacts": SeedTable(columns=["id", "email", "company_id"], rows=[[1, "ann@acme.example", 1],
                                                                          [2, "bob@globex.example", 2]]),
        "deals": SeedTable(columns=["id", "name", "company_id", "contact_id", "stage_id", "close_date"],
                           rows=[[1, "Ovens", 1, 1, 1, "2026-01-31"], [2, "Fridges", 2, None, 2, "2026-02-28"]]),
        "deal_contacts": SeedTable(columns=["deal_id", "contact_id"], rows=[[1, 1], [2, 2]]),
        "products": SeedTable(columns=["id", "sku", "title"], rows=[[1, "SK-1", "Oven"], [2, "SK-2", "Fridge"]]),
        "line_items": SeedTable(columns=["id", "deal_id", "sku", "quantity"], rows=[[1, 1, "SK-1", 2],
                                                                                  [2, 2, "SK-2", 1]]),
        "employees": SeedTable(columns=["id", "name", "manager_id"], rows=[[1, "Cleo", None], [2, "Dan", 1]]),
    }
    return Model(name="crm", entities=[stages, companies, contacts, deals, deal_contacts, products, line_items,
                                       employees], seed=seed)


def row_level(model: Model | None = None) -> Model:
    model = model or crm_model()
    return apply_row_level(choose(model, "row-level", ["test"]))


@pytest.fixture()
def database() -> sqlite3.Connection:
    """The row-level CRM applied with its seed, plus a second tenant with one company and contact."""
    model = row_level()
    connection = connect(":memory:")
    apply_sql(connection, render_schema(model))
    apply_sql(connection, render_seed(model, mask=False))
    connection.execute("INSERT INTO tenants (id, slug, name) VALUES (2, 'second', 'Second tenant')")
    connection.execute("INSERT INTO companies (id, tenant_id, name) VALUES (10, 2, 'Initech')")
    connection.execute(
        "INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (10, 2, 'cy@initech.example', 10)")
    yield connection
    connection.close()


def tenant_scoped_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    return [name for (name,) in rows
            if any(column[1] == "tenant_id" for column in connection.execute(f'PRAGMA table_info("{name}")'))]


# --- row-level: the database rejects cross-tenant references ---------------------------------


def test_child_of_other_tenants_parent_rejected(database):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (11, 2, 'x@y.example', 1)")


def test_child_of_own_tenants_parent_accepted(database):
    database.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (11, 2, 'x@y.example', 10)")
    assert database.execute("SELECT tenant_id FROM contacts WHERE id = 11").fetchone() == (2,)


def test_junction_across_tenants_rejected(database):
    database.execute("INSERT INTO deals (id, tenant_id, name, company_id, stage_id) VALUES (10, 2, 'Desks', 10, 1)")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) VALUES (2, 10, 1)")
    database.execute("INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) VALUES (2, 10, 10)")


def test_natural_key_reference_across_tenants_rejected(database):
    database.execute("INSERT INTO deals (id, tenant_id, name, company_id, stage_id) VALUES (10, 2, 'Desks', 10, 1)")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("INSERT INTO line_items (id, tenant_id, deal_id, sku, quantity) VALUES (10, 2, 10, 'SK-1', 1)")


def test_moving_child_to_other_tenant_rejected(database):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("UPDATE contacts SET tenant_id = 2 WHERE id = 1")


def test_self_reference_across_tenants_rejected(database):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("INSERT INTO employees (id, tenant_id, name, manager_id) VALUES (10, 2, 'Eve', 1)")


def test_global_table_referenced_by_every_tenant(database):
    database.execute("INSERT INTO deals (id, tenant_id, name, company_id, stage_id) VALUES (10, 2, 'Desks', 10, 2)")
    assert database.execute("SELECT count(DISTINCT tenant_id) FROM deals WHERE stage_id IN (1, 2)").fetchone() == (2,)


def test_same_email_in_two_tenants_accepted(database):
    database.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (11, 2, 'ann@acme.example', 10)")
    assert database.execute("SELECT count(*) FROM contacts WHERE email = 'ann@acme.example'").fetchone() == (2,)


def test_same_email_twice_in_one_tenant_rejected(database):
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: contacts.tenant_id, contacts.email"):
        database.execute(
            "INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (11, 1, 'ann@acme.example', 1)")


def test_every_index_leads_with_tenant_id(database):
    scoped = tenant_scoped_tables(database)
    assert scoped == ["companies", "contacts", "deal_contacts", "deals", "employees", "line_items", "products"]
    for table in scoped:
        indexes = database.execute(f'PRAGMA index_list("{table}")').fetchall()
        assert indexes, f"{table} has no index"
        for index in indexes:
            leading = database.execute(f'PRAGMA index_info("{index[1]}")').fetchone()
            assert leading[2] == "tenant_id", f"index {index[1]} on {table} leads with {leading[2]}"


def test_every_foreign_key_carries_tenant_id(database):
    for table in tenant_scoped_tables(database):
        references = {}
        for row in database.execute(f'PRAGMA foreign_key_list("{table}")'):
            references.setdefault(row[0], []).append((row[2], row[3], row[4]))
        for columns in references.values():
            parent = columns[0][0]
            if parent in ("tenants", "stages"):
                continue
            assert columns[0][1:] == ("tenant_id", "tenant_id"), f"{table} -> {parent}: {columns}"


def test_global_table_has_no_tenant_id(database):
    columns = [row[1] for row in database.execute("PRAGMA table_info(stages)")]
    assert columns == ["id", "name", "probability"]


def test_seed_rows_belong_to_default_tenant(database):
    assert database.execute("SELECT id, slug, name FROM tenants WHERE id = 1").fetchall() == [
        (1, "default", "Default tenant")]
    for table in ("companies", "contacts", "deals", "deal_contacts", "products", "line_items", "employees"):
        tenants = database.execute(f"SELECT DISTINCT tenant_id FROM {table} WHERE rowid < 10").fetchall()
        assert tenants == [(1,)], table
    assert database.execute("PRAGMA foreign_key_check").fetchall() == []


def test_set_null_becomes_restrict(database):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("DELETE FROM contacts WHERE id = 1")
    database.execute("DELETE FROM deal_contacts WHERE contact_id = 1")
    database.execute("UPDATE deals SET contact_id = NULL WHERE tenant_id = 1 AND contact_id = 1")
    database.execute("DELETE FROM contacts WHERE id = 1")
    assert database.execute("SELECT count(*) FROM deals WHERE id = 1").fetchone() == (1,)


def test_set_null_change_is_reported():
    model = row_level()
    codes = [(warning.code, warning.subject) for warning in model.report.warnings]
    assert ("T202", "deals(contact_id) -> contacts") in codes
    assert ("T202", "employees(manager_id) -> employees") in codes
    deals = model.entity("deals")
    assert [fk.on_delete for fk in deals.foreign_keys if fk.ref_table == "contacts"] == ["RESTRICT"]


def test_cascade_stays_within_tenant(database):
    database.execute("DELETE FROM line_items WHERE deal_id = 1")
    database.execute("DELETE FROM deals WHERE id = 1")
    assert database.execute("SELECT count(*) FROM deal_contacts WHERE deal_id = 1").fetchone() == (0,)
    assert database.execute("SELECT count(*) FROM deal_contacts").fetchone() == (1,)


def test_deleting_tenant_with_rows_rejected(database):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        database.execute("DELETE FROM tenants WHERE id = 2")


def test_tenant_slug_checked(database):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        database.execute("INSERT INTO tenants (slug, name) VALUES ('Bad Slug', 'x')")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: tenants.slug"):
        database.execute("INSERT INTO tenants (slug, name) VALUES ('second', 'x')")


# --- row-level: the model transformation -----------------------------------------------------


def test_lookup_table_detected_as_global():
    assert list(detect_global_tables(crm_model())) == ["stages"]
    assert row_level().tenancy.global_tables == ["stages"]


def test_tenant_scoped_option_overrides_detection():
    model = apply_row_level(choose(crm_model(), "row-level", [], keep_scoped=["stages"]))
    assert model.tenancy.global_tables == []
    assert model.entity("stages").column("tenant_id").nullable is False


def test_declared_global_table_kept_shared():
    model = apply_row_level(choose(crm_model(), "row-level", [], make_global=["products"]))
    assert model.tenancy.global_tables == ["products", "stages"]
    line_items = model.entity("line_items")
    assert [fk.columns for fk in line_items.foreign_keys if fk.ref_table == "products"] == [["sku"]]
    assert model.entity("products").columns[1].name == "sku"


def test_query_index_text_filters_by_tenant():
    index = next(index for index in row_level().entity("deals").indexes if index.query)
    assert index.name == "idx_deals__tenant_id_company_id_close_date"
    assert index.query == "SELECT * FROM deals WHERE tenant_id = ? AND company_id = ? ORDER BY close_date"


def test_composite_primary_key_led_by_tenant():
    assert row_level().entity("deal_contacts").primary_key == ["tenant_id", "deal_id", "contact_id"]


def test_apply_row_level_twice_is_same():
    once = row_level()
    assert apply_row_level(once) == once


def test_apply_row_level_leaves_input_unchanged():
    model = crm_model()
    before = model.to_json()
    apply_row_level(choose(model, "row-level", []))
    assert model.to_json() == before


def test_client_table_named_tenants_rejected():
    model = crm_model()
    model.entities.append(Entity(name="tenants", columns=[integer("id", False), text("unit")], primary_key=["id"]))
    with pytest.raises(InputError, match="already has a table tenants") as error:
        apply_row_level(choose(model, "row-level", []))
    assert error.value.place == "$.tenancy.tenant_table"


def test_existing_tenant_column_rejected():
    model = crm_model()
    model.entity("companies").columns.append(text("tenant_id"))
    with pytest.raises(InputError, match="table companies already has a column tenant_id"):
        apply_row_level(choose(model, "row-level", []))


def test_global_table_referencing_scoped_rejected():
    model = crm_model()
    model.tenancy.global_tables = ["employees", "line_items"]
    with pytest.raises(InputError, match="global table line_items references tenant-scoped table deals"):
        apply_row_level(model)


def test_unknown_global_table_rejected():
    model = crm_model()
    model.tenancy.global_tables = ["stage"]
    with pytest.raises(InputError, match="names table stage") as error:
        apply_row_level(model)
    assert error.value.place == "$.tenancy.global_tables[0]"


def test_generate_applies_row_level(tmp_path):
    from dmodel.generate import generate
    model = choose(crm_model(), "row-level", ["test"])
    output = generate(model, tmp_path)
    schema = output.files[tmp_path / "schema.sql"]
    assert "CREATE TABLE tenants (" in schema
    assert "FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)" in schema
    connection = connect(":memory:")
    apply_sql(connection, output.files[output.migration])
    apply_sql(connection, output.files[tmp_path / "seed.sql"])
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert connection.execute("SELECT count(*) FROM deals WHERE tenant_id = 1").fetchone() == (2,)


def test_generate_database_per_tenant_keeps_schema(tmp_path):
    from dmodel.generate import generate
    plain = generate(crm_model(), tmp_path).files[tmp_path / "schema.sql"]
    separate = generate(choose(crm_model(), "database-per-tenant", []), tmp_path).files[tmp_path / "schema.sql"]
    assert separate == plain
    assert "tenant_id" not in separate


# --- database per tenant: the registry -------------------------------------------------------


def test_registry_applies_and_enforces_keys():
    connection = connect(":memory:")
    apply_sql(connection, render_schema(registry_model()))
    insert = ("INSERT INTO tenant_databases (tenant_slug, database_id, database_name) VALUES (?, ?, ?)")
    connection.execute(insert, ("acme", "8c2e4f60-1b3d-4a5e-9f70-2c4d6e8fa0b1", "crm-acme"))
    row = connection.execute("SELECT migration_level, updated_at FROM tenant_databases").fetchone()
    assert row[0] == 0
    assert row[1].endswith("Z")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: tenant_databases.tenant_slug"):
        connection.execute(insert, ("acme", "9c2e4f60-1b3d-4a5e-9f70-2c4d6e8fa0b1", "crm-acme-2"))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: tenant_databases.database_id"):
        connection.execute(insert, ("globex", "8c2e4f60-1b3d-4a5e-9f70-2c4d6e8fa0b1", "crm-globex"))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        connection.execute(insert, ("globex", "not-a-uuid", "crm-globex"))


# --- the recommendation ----------------------------------------------------------------------


def facts(**values) -> TenancyFacts:
    return TenancyFacts(**values)


def codes(recommendation) -> list[str]:
    return [factor.code for factor in recommendation.factors]


def test_example_facts_recommend_row_level():
    result = recommend(facts(tenants=4, data_volume_gb=1.5, isolation="row-level", residency=["US"],
                             cross_tenant_reporting=True))
    assert result.mode == "row-level"
    assert codes(result) == ["T104", "T108", "T110"]


def test_small_tenants_with_reporting_row_level():
    result = recommend(facts(tenants=5, data_volume_gb=0.2, cross_tenant_reporting=True))
    assert result.mode == "row-level"
    assert codes(result) == ["T108", "T105"]


@pytest.mark.parametrize(("tenants", "mode"), [(100, "row-level"), (101, "database-per-tenant")])
def test_many_tenants_flip_at_threshold(tenants, mode):
    assert recommend(facts(tenants=tenants, data_volume_gb=0.001)).mode == mode


@pytest.mark.parametrize(("per_tenant_gb", "mode", "code"), [
    (1.25, "row-level", "T105"),             # 5 GB in total: half of 10 GB, still small
    (1.26, "database-per-tenant", "T104"),   # just over half: leans towards one database each
    (2.0, "database-per-tenant", "T104"),    # 8 GB in total: at 80 %, still a leaning
    (2.01, "database-per-tenant", "T103"),   # over 80 % of 10 GB: required
])
def test_volume_flips_at_thresholds(per_tenant_gb, mode, code):
    result = recommend(facts(tenants=4, data_volume_gb=per_tenant_gb))
    assert result.mode == mode
    assert code in codes(result)


def test_volume_requirement_beats_reporting():
    result = recommend(facts(tenants=4, data_volume_gb=2.5, cross_tenant_reporting=True))
    assert result.mode == "database-per-tenant"
    assert "T305" in [warning.code for warning in result.warnings]


def test_half_volume_with_reporting_stays_row_level():
    result = recommend(facts(tenants=4, data_volume_gb=1.5, cross_tenant_reporting=True))
    assert result.mode == "row-level"
    assert result.summary.startswith("the facts weigh the same")


@pytest.mark.parametrize(("residency", "mode"), [
    (["US"], "row-level"), (["US", "us"], "row-level"), (["US", "EU"], "database-per-tenant"),
    ("EU, US", "database-per-tenant")])
def test_residency_in_several_regions(residency, mode):
    result = recommend(facts(tenants=4, data_volume_gb=0.1, residency=residency, cross_tenant_reporting=True))
    assert result.mode == mode
    assert "T307" in [warning.code for warning in result.warnings]


def test_customisation_leans_to_own_databases():
    assert recommend(facts(tenants=4, data_volume_gb=0.1, per_tenant_customization=True)).mode == (
        "database-per-tenant")


def test_customisation_with_reporting_row_level():
    result = recommend(facts(tenants=4, data_volume_gb=0.1, per_tenant_customization=True,
                             cross_tenant_reporting=True))
    assert result.mode == "row-level"
    assert "T306" in [warning.code for warning in result.warnings]


def test_isolation_requirement_decides():
    result = recommend(facts(tenants=3, data_volume_gb=0.1, isolation="Physical", cross_tenant_reporting=True))
    assert result.mode == "database-per-tenant"
    assert codes(result)[0] == "T102"


def test_unknown_isolation_asks():
    result = recommend(facts(tenants=3, isolation="gold-plated"))
    assert [question.code for question in result.questions] == ["T311"]


@pytest.mark.parametrize(("tenants", "mode"), [(DATABASES_PER_ACCOUNT - 1, "database-per-tenant"),
                                               (DATABASES_PER_ACCOUNT, "row-level")])
def test_account_limit_flips_to_row_level(tenants, mode):
    assert recommend(facts(tenants=tenants, data_volume_gb=0.00001)).mode == mode


def test_assumed_account_limit_is_stated():
    default = recommend(facts(tenants=4))
    assert "50,000" in default.assumptions[0]
    assert "1,000,000" in default.assumptions[0]
    raised = recommend(facts(tenants=60_000, data_volume_gb=0.00001), databases_per_account=1_000_000)
    assert raised.mode == "database-per-tenant"
    assert "1,000,000 D1 databases per account, as given" in raised.assumptions[0]


def test_conflicting_requirements_choose_own_databases():
    result = recommend(facts(tenants=60_000, data_volume_gb=0.01))
    assert result.mode == "database-per-tenant"
    assert sorted(codes(result)[:2]) == ["T103", "T106"]
    assert "T304" in [warning.code for warning in result.warnings]


def test_tenant_larger_than_database_warned():
    result = recommend(facts(tenants=2, data_volume_gb=12))
    assert result.mode == "database-per-tenant"
    assert "T302" in [warning.code for warning in result.warnings]


def test_single_tenant_needs_no_isolation():
    assert recommend(facts(tenants=1, data_volume_gb=9)).mode == "none"


def test_no_facts_asks_for_tenant_count():
    result = recommend(facts())
    assert result.mode == "none"
    assert [question.code for question in result.questions] == ["T310"]


def test_negative_tenants_rejected():
    with pytest.raises(InputError, match="cannot be negative") as error:
        recommend(facts(tenants=-2))
    assert error.value.place == "$.tenancy.tenants"


def test_recommendation_reasons_name_facts():
    result = recommend(facts(tenants=500, data_volume_gb=0.001))
    reasons = result.reasons()
    assert reasons[0] == result.summary
    assert any(reason.startswith("T107: 500 tenants would share one database") for reason in reasons)


def test_switch_warning_only_on_change():
    assert switch_warning("row-level", "row-level") is None
    warning = switch_warning("database-per-tenant", "row-level")
    assert warning.code == "T301"
    assert "backfill" in warning.message


# --- the command -----------------------------------------------------------------------------


def write_discovery(tmp_path, tenancy: dict) -> str:
    path = tmp_path / "discovery.json"
    path.write_text(json.dumps({"format": "dmodel.discovery/v1", "client": {"id": "acme"}, "tenancy": tenancy}),
                    encoding="utf-8")
    return str(path)


def write_model(tmp_path, model: Model) -> str:
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    return str(path)


def test_command_prints_recommendation(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 300, "data_volume_gb": 0.01})
    assert main(["tenancy", discovery, "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["recommended"] == "database-per-tenant"
    assert output["databases_per_account"] == 50_000
    assert "50,000" in output["assumptions"][0]


def test_command_applies_row_level(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 4, "data_volume_gb": 0.5, "cross_tenant_reporting": True})
    model_path = write_model(tmp_path, crm_model())
    out = tmp_path / "out.json"
    assert main(["tenancy", discovery, model_path, "--apply", "recommended", "-o", str(out), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["applied"] == "row-level"
    written = Model.model_validate_json(out.read_text(encoding="utf-8"))
    assert written.tenancy.mode == "row-level"
    assert written.tenancy.global_tables == ["stages"]
    assert written.tenancy.reasons[0] == output["summary"]
    assert "tenant_id" not in [column.name for column in written.entity("deals").columns]


def test_command_apply_without_model_exit_2(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 4})
    assert main(["tenancy", discovery, "--apply", "row-level"]) == 2
    assert "--apply needs the entity model" in capsys.readouterr().err


def test_command_bad_discovery_exit_2(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": "many"})
    assert main(["tenancy", discovery]) == 2
    error = capsys.readouterr().err
    assert "discovery.json" in error
    assert "tenancy.tenants" in error


def test_command_negative_tenants_names_file(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": -1})
    assert main(["tenancy", discovery, "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["file"] == discovery
    assert error["place"] == "$.tenancy.tenants"


def test_command_writes_registry(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 400, "data_volume_gb": 0.1})
    registry = tmp_path / "control"
    assert main(["tenancy", discovery, "--registry-out", str(registry), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert str(registry / "migrations" / "0001_initial_schema.sql") in output["registry_files"]
    connection = connect(":memory:")
    apply_sql(connection, (registry / "migrations" / "0001_initial_schema.sql").read_text(encoding="utf-8"))
    columns = [row[1] for row in connection.execute("PRAGMA table_info(tenant_databases)")]
    assert columns == ["id", "tenant_slug", "database_id", "database_name", "jurisdiction", "migration_level",
                       "updated_at"]


def test_command_warns_on_switch(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 4, "data_volume_gb": 0.5, "cross_tenant_reporting": True})
    model_path = write_model(tmp_path, choose(crm_model(), "database-per-tenant", []))
    assert main(["tenancy", discovery, model_path, "--apply", "row-level", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [warning["code"] for warning in output["warnings"]] == ["T301"]


# --- switching a deployed schema -------------------------------------------------------------


def deployed(tmp_path, model: Model) -> tuple:
    """Generate ``model`` without tenancy into a migrations folder and apply it with its seed to a SQLite file."""
    from dmodel.generate import generate, write_files
    output = generate(model, tmp_path / "out", mask=False)
    write_files(output.files)
    database = tmp_path / "tenant.sqlite"
    connection = connect(database)
    apply_sql(connection, output.files[output.migration])
    apply_sql(connection, output.files[tmp_path / "out" / "seed.sql"])
    return connection, tmp_path / "out" / "migrations"


def row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    tables = ["companies", "contacts", "deals", "deal_contacts", "products", "line_items", "employees", "stages"]
    return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def test_planner_refuses_switch_without_backfill(tmp_path):
    from dmodel.plan import plan_migration
    model = crm_model()
    model.entities = [entity for entity in model.entities if entity.name in ("companies", "contacts")]
    model.seed = {}
    _, migrations = deployed(tmp_path, model)
    plan = plan_migration(render_schema(row_level(model)), migrations)
    refused = [(operation.code, operation.reason) for operation in plan.refused]
    assert ("BC103", "companies.tenant_id INTEGER") in refused
    assert ("BC103", "contacts.tenant_id INTEGER") in refused


def test_switch_migration_keeps_rows(tmp_path, capsys):
    connection, migrations = deployed(tmp_path, crm_model())
    before = row_counts(connection)
    discovery = write_discovery(tmp_path, {"tenants": 4, "data_volume_gb": 0.5, "cross_tenant_reporting": True})
    model_path = write_model(tmp_path, crm_model())
    assert main(["tenancy", discovery, model_path, "--apply", "row-level", "--migrations", str(migrations),
                 "--write-migration", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [warning["code"] for warning in output["warnings"]] == ["T301"]
    migration = migrations / "0002_row_level_tenancy.sql"
    assert output["migration_plan"]["migration"] == str(migration)

    apply_sql(connection, migration.read_text(encoding="utf-8"))
    assert row_counts(connection) == before
    assert connection.execute("SELECT id, slug FROM tenants").fetchall() == [(1, "default")]
    assert connection.execute("SELECT DISTINCT tenant_id FROM deal_contacts").fetchall() == [(1,)]
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    connection.execute("INSERT INTO tenants (id, slug, name) VALUES (2, 'second', 'Second')")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        connection.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (9, 2, 'x@y.example', 1)")


def test_switch_rollback_restores_rows(tmp_path, capsys):
    connection, migrations = deployed(tmp_path, crm_model())
    before = row_counts(connection)
    discovery = write_discovery(tmp_path, {"tenants": 4})
    model_path = write_model(tmp_path, crm_model())
    assert main(["tenancy", discovery, model_path, "--apply", "row-level", "--migrations", str(migrations),
                 "--write-migration"]) == 0
    name = "0002_row_level_tenancy.sql"
    apply_sql(connection, (migrations / name).read_text(encoding="utf-8"))
    apply_sql(connection, (migrations / "rollback" / name).read_text(encoding="utf-8"))
    assert row_counts(connection) == before
    columns = [row[1] for row in connection.execute("PRAGMA table_info(contacts)")]
    assert "tenant_id" not in columns
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_generate_after_switch_has_nothing_left(tmp_path, capsys):
    from dmodel.generate import generate
    _, migrations = deployed(tmp_path, crm_model())
    discovery = write_discovery(tmp_path, {"tenants": 4})
    model_path = write_model(tmp_path, crm_model())
    assert main(["tenancy", discovery, model_path, "--apply", "row-level", "--migrations", str(migrations),
                 "--write-migration"]) == 0
    switched = Model.model_validate_json((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert generate(switched, tmp_path / "again", migrations).migration is None


def test_write_migration_needs_row_level(tmp_path, capsys):
    _, migrations = deployed(tmp_path, crm_model())
    discovery = write_discovery(tmp_path, {"tenants": 4})
    model_path = write_model(tmp_path, crm_model())
    assert main(["tenancy", discovery, model_path, "--apply", "database-per-tenant", "--migrations",
                 str(migrations), "--write-migration"]) == 2
    assert "--write-migration writes the switch to row-level" in capsys.readouterr().err
    assert sorted(path.name for path in migrations.glob("*.sql")) == ["0001_initial_schema.sql"]


def test_switch_reported_without_writing(tmp_path, capsys):
    _, migrations = deployed(tmp_path, crm_model())
    discovery = write_discovery(tmp_path, {"tenants": 4})
    model_path = write_model(tmp_path, crm_model())
    assert main(["tenancy", discovery, model_path, "--apply", "row-level", "--migrations", str(migrations),
                 "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["migration_plan"]
    assert plan["migration"] is None
    assert plan["refused"] == []
    assert [operation["code"] for operation in plan["operations"]][-2:] == ["MF102", "RB200"]
    assert plan["backfill"]["contacts.tenant_id"] == "1"
    assert sorted(path.name for path in migrations.glob("*.sql")) == ["0001_initial_schema.sql"]


# --- the bundled example ---------------------------------------------------------------------


def test_example_row_level_applies_with_seed(tmp_path):
    from pathlib import Path

    from dmodel.design import design
    from dmodel.generate import generate
    from dmodel.loaders import load_inputs

    loaded = load_inputs([str(Path(__file__).resolve().parents[1] / "fixtures" / "example" / "discovery.json")])
    recommendation = recommend(loaded.discovery.tenancy)
    assert recommendation.mode == "row-level"
    model = choose(design(loaded), recommendation.mode, recommendation.reasons())
    output = generate(model, tmp_path)
    connection = connect(tmp_path / "example.sqlite")
    apply_sql(connection, output.files[output.migration])
    apply_sql(connection, output.files[tmp_path / "seed.sql"])

    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert connection.execute("SELECT count(*) FROM tenants").fetchone() == (1,)
    scoped = tenant_scoped_tables(connection)
    assert "deals" in scoped
    for table in scoped:
        assert connection.execute(f'SELECT count(*) FROM "{table}" WHERE tenant_id <> 1').fetchone() == (0,)
        for index in connection.execute(f'PRAGMA index_list("{table}")').fetchall():
            leading = connection.execute(f'PRAGMA index_info("{index[1]}")').fetchone()
            assert leading[2] == "tenant_id", f"index {index[1]} on {table} leads with {leading[2]}"


def test_command_zero_account_limit_exit_2(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 4})
    assert main(["tenancy", discovery, "--assume-databases-per-account", "0"]) == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_text_keys_led_by_tenant():
    parent = Entity(name="accounts", columns=[text("id", False, logical_type="uuid"), text("name")],
                    primary_key=["id"])
    child = Entity(name="notes", columns=[text("id", False, logical_type="uuid"), text("account_id", False)],
                   primary_key=["id"], without_rowid=True, foreign_keys=[
        ForeignKey(columns=["account_id"], ref_table="accounts", ref_columns=["id"], on_delete="CASCADE")])
    model = row_level(Model(name="text_ids", entities=[parent, child]))
    assert model.entity("accounts").primary_key == ["tenant_id", "id"]
    assert model.entity("accounts").unique_constraints == []
    connection = connect(":memory:")
    apply_sql(connection, render_schema(model))
    connection.executescript(
        "INSERT INTO tenants (id, slug, name) VALUES (1, 'a', 'A'), (2, 'b', 'B');"
        "INSERT INTO accounts (id, tenant_id) VALUES ('x', 1), ('x', 2);"
        "INSERT INTO notes (id, tenant_id, account_id) VALUES ('n1', 2, 'x');")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        connection.execute("INSERT INTO notes (id, tenant_id, account_id) VALUES ('n2', 1, 'y')")
    connection.execute("DELETE FROM accounts WHERE tenant_id = 2 AND id = 'x'")
    assert connection.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    for table in ("accounts", "notes"):
        for index in connection.execute(f"PRAGMA index_list({table})").fetchall():
            assert connection.execute(f'PRAGMA index_info("{index[1]}")').fetchone()[2] == "tenant_id"


def test_partial_index_keeps_filter():
    model = crm_model()
    model.entity("deals").indexes.append(Index(name="idx_deals__close_date", columns=["close_date"],
                                               where="close_date IS NOT NULL"))
    index = next(index for index in row_level(model).entity("deals").indexes if index.where)
    assert index.columns == ["tenant_id", "close_date"]
    assert index.where == "close_date IS NOT NULL"


def test_command_unknown_global_table_exit_2(tmp_path, capsys):
    discovery = write_discovery(tmp_path, {"tenants": 4})
    model_path = write_model(tmp_path, crm_model())
    assert main(["tenancy", discovery, model_path, "--apply", "row-level", "--global", "stage"]) == 2
    assert "--global names table stage" in capsys.readouterr().err


def test_command_warns_without_tenancy_section(tmp_path, capsys):
    path = tmp_path / "records.json"
    path.write_text(json.dumps([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]), encoding="utf-8")
    assert main(["tenancy", str(path), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [warning["code"] for warning in output["warnings"]] == ["T313"]


def test_tenancy_only_document_is_read(tmp_path, capsys):
    path = tmp_path / "discovery.json"
    path.write_text(json.dumps({"tenancy": {"tenants": 40}}), encoding="utf-8")
    assert main(["tenancy", str(path), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert "T313" not in [warning["code"] for warning in output["warnings"]]


def test_unique_text_key_not_repeated():
    parent = Entity(name="accounts", columns=[text("id", False, unique=True), text("name")], primary_key=["id"])
    model = row_level(Model(name="text_ids", entities=[parent]))
    assert model.entity("accounts").primary_key == ["tenant_id", "id"]
    assert model.entity("accounts").unique_constraints == []


def test_index_reason_names_new_action():
    model = crm_model()
    model.entity("deals").indexes[1].reason = "foreign key to contacts: joins and ON DELETE SET NULL look up deals rows"
    index = next(index for index in row_level(model).entity("deals").indexes
                 if index.columns == ["tenant_id", "contact_id"])
    assert "ON DELETE RESTRICT" in index.reason
    assert "SET NULL" not in index.reason
