"""Row-level tenancy on a local D1: the generated migration and seed, then cross-tenant writes that must fail."""

from __future__ import annotations

import pytest
from test_tenancy import crm_model
from wrangler_d1 import LocalD1, WranglerError, requires_wrangler

from dmodel.generate import generate
from dmodel.tenancy import choose

pytestmark = requires_wrangler

SECOND_TENANT = (
    "INSERT INTO tenants (id, slug, name) VALUES (2, 'second', 'Second tenant');"
    "INSERT INTO companies (id, tenant_id, name) VALUES (10, 2, 'Initech');"
    "INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (10, 2, 'cy@initech.example', 10);"
)


@pytest.fixture(scope="module")
def d1(tmp_path_factory) -> LocalD1:
    """A local D1 with the row-level CRM migration applied, its seed loaded and a second tenant added."""
    root = tmp_path_factory.mktemp("tenancy_d1")
    output = generate(choose(crm_model(), "row-level", ["test"]), root / "out", mask=False)
    database = LocalD1(root / "project")
    database.add_migration(output.migration.name, output.files[output.migration])
    database.apply_migrations()
    seed = root / "seed.sql"
    seed.write_text(output.files[root / "out" / "seed.sql"], encoding="utf-8", newline="\n")
    database.execute_file(seed)
    database.execute(SECOND_TENANT)
    return database


def test_d1_seed_passes_foreign_key_check(d1):
    assert d1.execute("PRAGMA foreign_key_check") == [[]]
    assert d1.query("SELECT DISTINCT tenant_id FROM deals") == [(1,)]


def test_d1_rejects_other_tenants_parent(d1):
    with pytest.raises(WranglerError, match="FOREIGN KEY constraint failed"):
        d1.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (11, 2, 'x@y.example', 1)")
    assert d1.query("SELECT count(*) FROM contacts WHERE id = 11") == [(0,)]


def test_d1_rejects_cross_tenant_junction_row(d1):
    with pytest.raises(WranglerError, match="FOREIGN KEY constraint failed"):
        d1.execute("INSERT INTO deal_contacts (tenant_id, deal_id, contact_id) VALUES (1, 1, 10)")


def test_d1_email_unique_per_tenant(d1):
    d1.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (12, 2, 'ann@acme.example', 10)")
    with pytest.raises(WranglerError, match="UNIQUE constraint failed"):
        d1.execute("INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (13, 2, 'ann@acme.example', 10)")
    assert d1.query("SELECT tenant_id FROM contacts WHERE email = 'ann@acme.example' ORDER BY tenant_id") == [
        (1,), (2,)]


def test_d1_indexes_lead_with_tenant_id(d1):
    for table in ("companies", "contacts", "deals", "deal_contacts", "products", "line_items", "employees"):
        indexes = d1.execute(f"PRAGMA index_list({table})")[0]
        assert indexes, table
        for index in indexes:
            leading = d1.execute(f"PRAGMA index_info({index['name']})")[0][0]
            assert leading["name"] == "tenant_id", f"{index['name']} on {table}"


def test_d1_switch_to_row_level_keeps_rows(tmp_path):
    from dmodel.cli import main
    from dmodel.generate import write_files

    output = generate(crm_model(), tmp_path / "out", mask=False)
    write_files(output.files)
    migrations = tmp_path / "out" / "migrations"
    model_path = tmp_path / "model.json"
    model_path.write_text(crm_model().to_json(), encoding="utf-8")
    discovery = tmp_path / "discovery.json"
    discovery.write_text('{"format": "dmodel.discovery/v1", "tenancy": {"tenants": 4}}', encoding="utf-8")

    database = LocalD1(tmp_path / "project")
    database.add_migration(output.migration.name, output.files[output.migration])
    database.apply_migrations()
    database.execute_file(tmp_path / "out" / "seed.sql")
    counts = ("SELECT (SELECT count(*) FROM deals), (SELECT count(*) FROM deal_contacts), "
              "(SELECT count(*) FROM contacts)")
    before = database.query(counts)

    assert main(["tenancy", str(discovery), str(model_path), "--apply", "row-level", "--migrations",
                 str(migrations), "--write-migration"]) == 0
    switch = migrations / "0002_row_level_tenancy.sql"
    database.add_migration(switch.name, switch.read_text(encoding="utf-8"))
    database.apply_migrations()

    assert database.query(counts) == before
    assert database.query("SELECT DISTINCT tenant_id FROM deal_contacts") == [(1,)]
    assert database.execute("PRAGMA foreign_key_check") == [[]]
    with pytest.raises(WranglerError, match="FOREIGN KEY constraint failed"):
        database.execute("INSERT INTO tenants (id, slug, name) VALUES (2, 'second', 'Second');"
                         "INSERT INTO contacts (id, tenant_id, email, company_id) VALUES (9, 2, 'x@y.example', 1);")
