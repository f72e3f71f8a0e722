"""The design pipeline joining samples with declared entities."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import run_cli

ROWS = [
    # A flat export: each deal repeats its owner; each line repeats its product.
    {"Deal ID": f"D-{number}", "Owner ID": f"U-{number % 3}", "Owner Name": ["Ann Lee", "Bo Chan", "Cy Diaz"][number % 3],
     "Owner Email": f"owner{number % 3}@example.com", "SKU": f"S-{number % 4}", "Unit Price": f"{10 + number % 4}.50",
     "Title": f"Item {number % 4}"}
    for number in range(1, 41)
]


def write_discovery(folder: Path) -> Path:
    with open(folder / "deals.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    discovery = {
        "format": "dmodel.discovery/v1",
        "client": {"id": "acme"},
        "entities": [
            {"name": "deals", "fields": [{"name": "id", "type": "text", "unique": True},
                                         {"name": "owner_id", "type": "text", "required": True},
                                         {"name": "sku", "type": "text"},
                                         {"name": "unit_price", "type": "money"}],
             "relationships": [{"target": "users", "cardinality": "N:1", "field": "owner_id", "optional": False},
                               {"target": "products", "cardinality": "N:1", "field": "sku"}]},
            {"name": "users", "fields": [{"name": "id"}, {"name": "name"}, {"name": "email"}]},
            {"name": "products", "key": "sku", "fields": [{"name": "sku"}, {"name": "title"}]},
        ],
        "datasets": [{"name": "deals", "entity": "deals", "path": "deals.csv"}],
        "query_patterns": [{"entity": "deals", "filter": ["sku"]}],
    }
    path = folder / "discovery.json"
    path.write_text(json.dumps(discovery), encoding="utf-8")
    return path


def design(tmp_path: Path) -> dict:
    result = run_cli("design", write_discovery(tmp_path), "-o", tmp_path / "model.json")
    assert result.status == 0, result.stderr
    return json.loads((tmp_path / "model.json").read_text())


def table(model: dict, name: str) -> dict:
    return next(entity for entity in model["entities"] if entity["name"] == name)


def columns(model: dict, name: str) -> list[str]:
    return [column["name"] for column in table(model, name)["columns"]]


def test_extracted_table_takes_declared_name(tmp_path):
    model = design(tmp_path)
    names = {entity["name"] for entity in model["entities"]}
    assert {"deals", "users", "products"} <= names
    assert "owners" not in names
    assert {"name", "email"} <= set(columns(model, "users"))


def test_declared_field_stays_in_its_table(tmp_path):
    model = design(tmp_path)
    assert "unit_price" in columns(model, "deals")
    codes = [decision["code"] for decision in model["report"]["decisions"]]
    assert "N203" in codes


def test_reference_column_named_for_parent(tmp_path):
    model = design(tmp_path)
    deals = table(model, "deals")
    targets = {foreign_key["columns"][0]: foreign_key["ref_table"] for foreign_key in deals["foreign_keys"]}
    assert targets.get("product_id") == "products"
    assert targets.get("owner_id") == "users"
    assert "sku" not in columns(model, "deals")


def test_query_pattern_follows_rename(tmp_path):
    model = design(tmp_path)
    indexes = [index["columns"] for index in table(model, "deals")["indexes"]]
    assert ["product_id"] in indexes
    assert not [warning for warning in model["report"]["warnings"] if warning["code"] == "W402"]


def test_person_names_marked_personal(tmp_path):
    model = design(tmp_path)
    name = next(column for column in table(model, "users")["columns"] if column["name"] == "name")
    assert name["pii"] == "name"


def test_design_applies_with_seed(tmp_path):
    design(tmp_path)
    assert run_cli("generate", tmp_path / "model.json", "-o", tmp_path).status == 0
    applied = run_cli("apply", tmp_path / "dev.sqlite", tmp_path / "migrations" / "0001_initial_schema.sql",
                      tmp_path / "seed.sql", "--json")
    assert applied.status == 0, applied.stderr
    counts = applied.json()["row_counts"]
    assert counts["deals"] == 40
    assert counts["users"] == 3
    assert counts["products"] == 4
    seed = (tmp_path / "seed.sql").read_text()
    assert "Ann Lee" not in seed
    assert "owner1@example.com" not in seed


def reference_inputs(folder: Path) -> list[Path]:
    users = [{"user_id": f"U{number}", "name": f"n{number}"} for number in range(1, 6)]
    orders = [{"order_id": number, "user_id": f"U{number % 5 + 1}"} for number in range(1, 21)]
    paths = []
    for name, records in (("users", users), ("orders", orders)):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(records))
        paths.append(path)
    return paths


def foreign_keys(model: dict, name: str) -> set[tuple[str, str]]:
    return {(key["columns"][0], key["ref_table"]) for key in table(model, name)["foreign_keys"]}


def test_reference_inferred_from_values(tmp_path):
    result = run_cli("design", *reference_inputs(tmp_path), "-o", tmp_path / "model.json")
    assert result.status == 0, result.stderr
    model = json.loads((tmp_path / "model.json").read_text())
    assert ("user_id", "users") in foreign_keys(model, "orders")


def test_forbid_hint_removes_reference(tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"relationships": {"forbid": ["orders.user_id -> users"]}}))
    result = run_cli("design", *reference_inputs(tmp_path), "-o", tmp_path / "model.json", "--hints", hints)
    assert result.status == 0, result.stderr
    model = json.loads((tmp_path / "model.json").read_text())
    assert foreign_keys(model, "orders") == set()


def test_malformed_relationship_hint(tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"relationships": {"force": ["orders.user_id users"]}}))
    result = run_cli("design", *reference_inputs(tmp_path), "-o", tmp_path / "model.json", "--hints", hints)
    assert result.status == 2
    assert "child_table.column -> parent_table" in result.stderr


def test_export_and_nested_copy_merge(tmp_path):
    (tmp_path / "customers.csv").write_text("id,email\n1,a@example.com\n2,b@example.com\n3,c@example.com\n")
    orders = [{"id": 100 + number, "customer": {"id": number % 3 + 1, "email": "abc"[number % 3] + "@example.com"}}
              for number in range(9)]
    (tmp_path / "orders.json").write_text(json.dumps(orders))
    result = run_cli("design", tmp_path / "orders.json", tmp_path / "customers.csv", "-o", tmp_path / "model.json")
    assert result.status == 0, result.stderr
    model = json.loads((tmp_path / "model.json").read_text())
    assert len(model["seed"]["customers"]["rows"]) == 3
    assert ("customer_id", "customers") in foreign_keys(model, "orders")


def test_personal_enum_gets_no_check(tmp_path):
    records = [{"id": number, "nickname": ["Ace", "Bee", "Cee"][number % 3]} for number in range(1, 31)]
    (tmp_path / "players.json").write_text(json.dumps(records))
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"pii": {"players.nickname": "name"}}))
    result = run_cli("design", tmp_path / "players.json", "-o", tmp_path / "model.json", "--hints", hints)
    assert result.status == 0, result.stderr
    model = json.loads((tmp_path / "model.json").read_text())
    nickname = next(column for column in table(model, "players")["columns"] if column["name"] == "nickname")
    assert nickname["pii"] == "name"
    assert nickname["check"] is None


def test_hint_on_moved_column_warned(tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"pii": {"deals.no_such_column": "name"}}))
    result = run_cli("design", write_discovery(tmp_path), "-o", tmp_path / "model.json", "--hints", hints)
    assert result.status == 0, result.stderr
    assert "W501" in result.stderr
