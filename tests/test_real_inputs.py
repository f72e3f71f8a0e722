"""Real inputs from public projects run through design and generate, then applied to SQLite."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli


def design_and_apply(source: Path, out: Path) -> sqlite3.Connection:
    designed = run_cli("design", source, "-o", out / "model.json")
    assert designed.status == 0, designed.stderr
    generated = run_cli("generate", out / "model.json", "-o", out)
    assert generated.status == 0, generated.stderr
    applied = run_cli("apply", out / "dev.sqlite", out / "migrations" / "0001_initial_schema.sql",
                      out / "seed.sql")
    assert applied.status == 0, applied.stderr
    connection = sqlite3.connect(out / "dev.sqlite")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def references(connection: sqlite3.Connection, table: str) -> set[tuple[str, str]]:
    """Return (column, referenced table) for each foreign key of ``table``."""
    return {(row[3], row[2]) for row in connection.execute(f'PRAGMA foreign_key_list("{table}")')}


def count(connection: sqlite3.Connection, table: str) -> int:
    return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def column_types(connection: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in connection.execute(f'PRAGMA table_info("{table}")')}


def test_shopify_order_tables(shared_data, tmp_path):
    connection = design_and_apply(shared_data / "shopify" / "order.json", tmp_path)
    assert {"orders", "line_items", "customers", "addresses"} <= tables(connection)
    assert ("order_id", "orders") in references(connection, "line_items")
    assert ("customer_id", "customers") in references(connection, "orders")
    assert ("billing_address_id", "addresses") in references(connection, "orders")
    assert ("shipping_address_id", "addresses") in references(connection, "orders")


def test_shopify_order_rows_not_duplicated(shared_data, tmp_path):
    connection = design_and_apply(shared_data / "shopify" / "order.json", tmp_path)
    # The order has three line items; fulfillments list them again by id.
    assert count(connection, "line_items") == 3
    assert count(connection, "orders") == 1
    assert count(connection, "customers") == 1
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_shopify_order_money_in_minor_units(shared_data, tmp_path):
    connection = design_and_apply(shared_data / "shopify" / "order.json", tmp_path)
    assert column_types(connection, "orders")["total_price"] == "INTEGER"
    assert connection.execute("SELECT total_price FROM orders").fetchone()[0] == 40994


def test_shopify_customer_tables(shared_data, tmp_path):
    connection = design_and_apply(shared_data / "shopify" / "customer.json", tmp_path)
    assert {"customers", "addresses"} <= tables(connection)
    assert count(connection, "customers") == 1
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_salesforce_dump_tables(shared_data, tmp_path):
    connection = design_and_apply(shared_data / "cumulusci" / "sample.sql", tmp_path)
    assert {"accounts", "contacts", "opportunities"} <= tables(connection)
    assert ("account_id", "accounts") in references(connection, "contacts")
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_salesforce_dump_types(shared_data, tmp_path):
    connection = design_and_apply(shared_data / "cumulusci" / "sample.sql", tmp_path)
    assert column_types(connection, "accounts")["number_of_employees"] == "INTEGER"
    assert column_types(connection, "opportunities")["amount"] == "INTEGER"
    # '' stands for a missing value in the dump and is stored as NULL.
    empty = connection.execute("SELECT count(*) FROM accounts WHERE description = ''").fetchone()[0]
    assert empty == 0


def test_salesforce_dump_output_has_no_transaction_control(shared_data, tmp_path):
    design_and_apply(shared_data / "cumulusci" / "sample.sql", tmp_path)
    for path in [tmp_path / "schema.sql", tmp_path / "seed.sql", *tmp_path.glob("migrations/**/*.sql")]:
        text = path.read_text()
        assert not re.search(r"^\s*(BEGIN|COMMIT)\b", text, re.IGNORECASE | re.MULTILINE), path


@pytest.mark.parametrize("name", ["shopify/order.json", "shopify/customer.json", "cumulusci/sample.sql"])
def test_real_input_scripts_run(shared_data, tmp_path, name):
    import subprocess
    import sys

    from conftest import REPO
    model = tmp_path / "model.json"
    design = subprocess.run([sys.executable, REPO / "scripts" / "design_schema.py", shared_data / name,
                             "-o", model], capture_output=True, text=True)
    assert design.returncode == 0, design.stderr
    generate = subprocess.run([sys.executable, REPO / "scripts" / "generate_sql.py", model, "-o", tmp_path],
                              capture_output=True, text=True)
    assert generate.returncode == 0, generate.stderr
    assert (tmp_path / "schema.sql").is_file()
