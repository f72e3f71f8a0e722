"""Normalization of real files written by other projects, through ``scripts/design_schema.py``.

The files live in the shared data folder beside the repository and are read
where they are. Where that folder is absent, the tests skip and say so.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CUMULUSCI = DATA / "cumulusci" / "sample.sql"
SHOPIFY_ORDER = DATA / "shopify" / "order.json"


def design(path: pathlib.Path, tmp_path: pathlib.Path) -> dict:
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data folder is not beside this checkout")
    out = tmp_path / "model.json"
    completed = subprocess.run([sys.executable, str(ROOT / "scripts" / "design_schema.py"), str(path), "-o", str(out)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(out.read_text())


def entity(model: dict, name: str) -> dict:
    return next(item for item in model["entities"] if item["name"] == name)


def column_names(model: dict, name: str) -> list[str]:
    return [column["name"] for column in entity(model, name)["columns"]]


def foreign_keys(model: dict, name: str) -> set[tuple[str, str]]:
    return {(",".join(key["columns"]), key["ref_table"]) for key in entity(model, name)["foreign_keys"]}


def test_cumulusci_tables(tmp_path):
    model = design(CUMULUSCI, tmp_path)
    names = {item["name"] for item in model["entities"]}
    assert {"accounts", "contacts", "opportunities"} <= names


def test_cumulusci_contacts_reference_accounts(tmp_path):
    model = design(CUMULUSCI, tmp_path)
    assert ("account_id", "accounts") in foreign_keys(model, "contacts")
    account_id = next(column for column in entity(model, "contacts")["columns"] if column["name"] == "account_id")
    assert account_id["sqlite_type"] == "INTEGER"


def test_cumulusci_address_blocks_become_table(tmp_path):
    model = design(CUMULUSCI, tmp_path)
    assert column_names(model, "account_addresses")[1:7] == [
        "account_id", "label", "street", "city", "state", "postal_code"]
    assert ("account_id", "accounts") in foreign_keys(model, "account_addresses")
    # Only the third account has addresses, one billing and one shipping.
    seed = model["seed"]["account_addresses"]
    labels = sorted(row[seed["columns"].index("label")] for row in seed["rows"])
    assert labels == ["billing", "shipping"]


def test_cumulusci_accounts_lose_address_columns(tmp_path):
    model = design(CUMULUSCI, tmp_path)
    assert not any(name.startswith(("billing_", "shipping_")) for name in column_names(model, "accounts"))


def test_shopify_order_tables(tmp_path):
    model = design(SHOPIFY_ORDER, tmp_path)
    names = {item["name"] for item in model["entities"]}
    assert {"orders", "line_items", "customers", "addresses"} <= names
    assert ("order_id", "orders") in foreign_keys(model, "line_items")
    assert ("customer_id", "customers") in foreign_keys(model, "orders")


def test_shopify_seed_has_no_duplicate_rows(tmp_path):
    model = design(SHOPIFY_ORDER, tmp_path)
    for name, table in model["seed"].items():
        rows = [json.dumps(row) for row in table["rows"]]
        assert len(rows) == len(set(rows)), name
    assert len(model["seed"]["line_items"]["rows"]) == 3
    assert len(model["seed"]["orders"]["rows"]) == 1


def test_shopify_address_lines_stay_columns(tmp_path):
    model = design(SHOPIFY_ORDER, tmp_path)
    assert {"address1", "address2"} <= set(column_names(model, "addresses"))
    assert "address_addresses" not in {item["name"] for item in model["entities"]}
