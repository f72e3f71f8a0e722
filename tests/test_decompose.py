"""The 3NF step: keys, splits, questions, NULL rows, repeating groups, junctions and entity matching."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import denormalize
from dmodel.decompose import find_repeating_groups, match_entities, normalize
from dmodel.errors import InputError
from dmodel.hints import Hints, parse_dependency
from dmodel.relation import Link, Relation, RelationSet


def single(rows: list[dict], name: str = "orders", key: list[str] | None = None) -> RelationSet:
    relation = Relation(name=name, columns=list(rows[0]), rows=rows, dataset=name, key=key)
    return RelationSet(relations={name: relation})


def links_of(result: RelationSet) -> set[tuple[str, str, str]]:
    return {(link.child, ",".join(link.child_columns), link.parent) for link in result.links}


def codes(result: RelationSet, kind: str) -> list[str]:
    items = result.decisions if kind == "decision" else result.questions
    return [item.code for item in items]


def foreign_key_errors(result: RelationSet) -> list[tuple]:
    connection = denormalize.load_sqlite(result)
    return connection.execute("PRAGMA foreign_key_check").fetchall()


def test_chain_splits_into_four_tables():
    case = denormalize.chain(400)
    result = normalize(case.relation_set())
    assert sorted(result.relations) == ["cities", "countries", "customers", "orders"]
    assert result.relations["customers"].columns == ["customer_id", "name", "email", "city_id"]
    assert result.relations["orders"].key == ["order_id"]
    assert links_of(result) == case.links


def test_chain_joins_back_losslessly():
    case = denormalize.chain(400)
    result = normalize(case.relation_set())
    joined = denormalize.join_back(result, "orders")
    assert denormalize.as_bag(joined, case.columns) == denormalize.as_bag(case.rows, case.columns)


def test_split_loads_into_sqlite_with_foreign_keys():
    result = normalize(denormalize.chain(400).relation_set())
    assert foreign_key_errors(result) == []


def test_input_relation_set_is_not_changed():
    relations = denormalize.chain(100).relation_set()
    before = [dict(row) for row in relations.relations["orders"].rows]
    normalize(relations)
    assert relations.relations["orders"].rows == before
    assert list(relations.relations) == ["orders"]


def test_output_is_deterministic():
    first = normalize(denormalize.star(300).relation_set())
    second = normalize(denormalize.star(300).relation_set())
    assert [(r.name, r.columns, r.rows) for r in first.relations.values()] == \
        [(r.name, r.columns, r.rows) for r in second.relations.values()]
    assert first.decisions == second.decisions


def test_small_sample_asks_instead_of_splitting():
    case = denormalize.chain(12, customers=10)
    result = normalize(case.relation_set())
    assert "customers" not in result.relations
    questions = [q for q in result.questions if q.code == "Q302" and "customer_id" in q.question]
    assert len(questions) == 1
    split = questions[0].hint["split"][0]
    assert split["key"] == ["customer_id"]
    assert split["name"] == "customers"


def test_split_hint_answers_the_question():
    case = denormalize.chain(12, customers=10)
    question = next(q for q in normalize(case.relation_set()).questions
                    if q.code == "Q302" and "customer_id" in q.question)
    result = normalize(case.relation_set(), Hints(**question.hint))
    assert "customers" in result.relations
    assert ("orders", "customer_id", "customers") in links_of(result)
    assert foreign_key_errors(result) == []


def test_unrepeated_values_never_split():
    # Every customer lives in a different city: country -> city holds by accident.
    rows = [{"customer_id": n, "name": f"C{n}", "city": f"City {n}", "country": "DE" if n < 3 else "FR",
             "postcode": f"{10000 + n}"} for n in range(6)]
    result = normalize(single(rows, "customers"))
    assert list(result.relations) == ["customers"]
    assert result.relations["customers"].key == ["customer_id"]


def test_timestamp_and_amount_never_drive_a_split():
    rows = []
    for n in range(60):
        rows.append({"payment_id": n, "paid_at": f"2024-05-0{1 + n % 3}T09:00:00Z", "amount": 10.5 + n % 3,
                     "fee": 0.3 + n % 3, "currency_note": f"batch {n % 7}", "reference": f"R{n}"})
    result = normalize(single(rows, "payments"))
    assert list(result.relations) == ["payments"]
    assert not any(question.hint.get("split", [{}])[0].get("key") in (["paid_at"], ["amount"])
                   for question in result.questions)


def test_null_reference_gets_no_lookup_row():
    rows = [{"order_id": n, "customer_id": None if n % 5 == 0 else n % 4,
             "customer_name": None if n % 5 == 0 else f"Name {n % 4}",
             "customer_email": None if n % 5 == 0 else f"c{n % 4}@example.com"} for n in range(40)]
    result = normalize(single(rows))
    customers = result.relations["customers"]
    assert all(row["customer_id"] is not None for row in customers.rows)
    assert len(customers.rows) == 4
    link = next(link for link in result.links if link.parent == "customers")
    assert link.optional
    assert sum(1 for row in result.relations["orders"].rows if row["customer_id"] is None) == 8
    assert foreign_key_errors(result) == []


def test_value_beside_null_key_stays():
    rows = [{"order_id": n, "customer_id": n % 4, "customer_name": f"Name {n % 4}", "customer_tier": f"T{n % 4}"}
            for n in range(40)]
    rows[3].update(customer_id=None, customer_name="Walk-in")
    result = normalize(single(rows))
    assert "customer_name" in result.relations["orders"].columns
    assert "N306" in codes(result, "decision")
    joined = denormalize.join_back(result, "orders")
    assert denormalize.as_bag(joined, list(rows[0])) == denormalize.as_bag(rows, list(rows[0]))


def test_approximate_dependency_becomes_question():
    case = denormalize.chain(500, typos=0.01)
    result = normalize(case.relation_set())
    assert "customer_email" in result.relations["orders"].columns
    question = next(q for q in result.questions if q.code == "Q303")
    assert question.hint == {"dependencies": {"force": ["orders: customer_id -> customer_email"]}}


def test_forced_dependency_keeps_majority_value():
    case = denormalize.chain(500, typos=0.01)
    hints = Hints(dependencies={"force": ["orders: customer_id -> customer_email"]})
    result = normalize(case.relation_set(), hints)
    customers = result.relations["customers"]
    assert customers.columns == ["customer_id", "name", "email", "city_id"]
    truth = denormalize.as_bag(case.tables["customers"].rows, case.tables["customers"].columns)
    assert denormalize.as_bag(customers.rows, case.tables["customers"].columns) == truth


def test_forbid_hint_stops_a_split():
    case = denormalize.chain(400)
    hints = Hints(dependencies={"forbid": ["orders: city_id -> *", "orders: city_name -> *"]})
    result = normalize(case.relation_set(), hints)
    assert "cities" not in result.relations
    assert "city_name" in result.relations["customers"].columns


def test_invalid_dependency_hint_is_input_error():
    with pytest.raises(InputError) as raised:
        parse_dependency("orders customer_id", "force", 0)
    assert raised.value.place == "dependencies.force[0]"
    assert "table: column" in raised.value.fix


def test_invalid_dependency_hint_fails_validation():
    with pytest.raises(ValidationError) as raised:
        Hints(dependencies={"force": ["orders: customer_id ->"]})
    assert "dependencies.force[0]" in str(raised.value)


def test_split_hint_with_unknown_column_is_input_error():
    hints = Hints(split=[{"table": "orders", "key": ["customer_id"], "columns": ["nope"], "name": "customers"}])
    with pytest.raises(InputError) as raised:
        normalize(denormalize.chain(50).relation_set(), hints)
    assert raised.value.place == "split[0]"
    assert "nope" in raised.value.message


def test_row_number_added_without_changing_input():
    rows = [{"label": f"L{n % 3}", "phone_1": f"1{n}", "phone_2": f"2{n}"} for n in range(6)]
    relations = single(rows, "people")
    result = normalize(relations)
    assert result.relations["people"].key == ["row_number"]
    assert "row_number" not in relations.relations["people"].rows[0]
    assert len(result.relations["person_phones"].rows) == 12


def test_key_prefers_identifier_name():
    rows = [{"email": f"u{n}@example.com", "account_number": f"A{n:04d}", "plan": "basic" if n % 2 else "pro"}
            for n in range(30)]
    result = normalize(single(rows, "accounts"))
    assert result.relations["accounts"].key == ["account_number"]


def test_key_hint_wins():
    rows = [{"email": f"u{n}@example.com", "account_number": f"A{n:04d}"} for n in range(30)]
    result = normalize(single(rows, "accounts"), Hints(keys={"accounts": ["email"]}))
    assert result.relations["accounts"].key == ["email"]


def test_numbered_phones_become_child_table():
    rows = [{"contact_id": n, "name": f"N{n}", "phone_1": f"555-{n:04d}", "phone_2": None if n % 2 else f"556-{n}",
             "phone_3": None} for n in range(10)]
    result = normalize(single(rows, "contacts"))
    phones = result.relations["contact_phones"]
    assert phones.columns == ["contact_id", "position", "phone"]
    assert phones.key == ["contact_id", "position"]
    assert len(phones.rows) == 15
    assert result.relations["contacts"].columns == ["contact_id", "name"]
    link = next(link for link in result.links if link.child == "contact_phones")
    assert link.kind == "owned"
    assert foreign_key_errors(result) == []


def test_unnumbered_first_email_joins_group():
    relation = Relation(name="people", columns=["id", "email", "email_2"], rows=[], dataset="people")
    groups = find_repeating_groups(relation)
    assert [group.members for group in groups] == [{1: {"email": "email"}, 2: {"email": "email_2"}}]


def test_numbered_blocks_group_fields():
    columns = ["id", "addr1_city", "addr1_zip", "addr2_city", "addr2_zip", "address_line_1", "address_line_2",
               "address1", "address2"]
    groups = find_repeating_groups(Relation(name="sites", columns=columns, rows=[], dataset="sites"))
    assert len(groups) == 1
    assert groups[0].members[2] == {"city": "addr2_city", "zip": "addr2_zip"}


def test_billing_and_shipping_blocks_become_addresses():
    fields = ["street", "city", "postal_code", "country"]
    rows = []
    for n in range(8):
        row = {"id": n + 1, "name": f"Account {n}"}
        for label in ("billing", "shipping"):
            for field_name in fields:
                row[f"{label}_{field_name}"] = None if label == "shipping" and n % 2 else f"{label} {field_name} {n}"
        rows.append(row)
    result = normalize(single(rows, "accounts", key=["id"]))
    addresses = result.relations["account_addresses"]
    assert addresses.columns == ["account_id", "label", "street", "city", "postal_code", "country"]
    assert len(addresses.rows) == 12
    assert {row["label"] for row in addresses.rows} == {"billing", "shipping"}
    assert result.relations["accounts"].columns == ["id", "name"]
    assert foreign_key_errors(result) == []


def test_entity_prefixes_are_not_blocks():
    columns = ["id", "city_id", "city_name", "product_id", "product_name", "first_name", "last_name"]
    assert find_repeating_groups(Relation(name="t", columns=columns, rows=[], dataset="t")) == []


def test_two_references_make_a_junction():
    case, _ = denormalize.enrollments(40)
    result = normalize(case.relation_set())
    enrollments = result.relations["enrollments"]
    assert enrollments.junction
    assert sorted(enrollments.key) == ["course_code", "student_id"]
    assert links_of(result) == case.links
    assert foreign_key_errors(result) == []


def test_self_reference_found_by_matching():
    case = denormalize.employees(120)
    result = match_entities(normalize(case.relation_set()))
    assert sorted(result.relations) == ["departments", "employees"]
    assert links_of(result) == case.links
    employees = result.relations["employees"]
    assert employees.columns == ["employee_id", "name", "manager_id", "department_code"]
    assert foreign_key_errors(result) == []


def test_self_junction_gets_role_columns():
    products = Relation(name="products", columns=["product_id", "name"], key=["product_id"], dataset="p",
                        rows=[{"product_id": n, "name": f"P{n}"} for n in range(1, 5)])
    pairs = Relation(name="product_pairs", columns=["product_id", "product_id_2"], dataset="p", junction=True,
                     key=["product_id", "product_id_2"],
                     rows=[{"product_id": 1, "product_id_2": 2}, {"product_id": 2, "product_id_2": 1}])
    relations = RelationSet(relations={"products": products, "product_pairs": pairs}, links=[
        Link("product_pairs", ["product_id"], "products", ["product_id"], "owned"),
        Link("product_pairs", ["product_id_2"], "products", ["product_id"], "reference")])
    result = match_entities(relations)
    assert result.relations["product_pairs"].columns == ["parent_id", "child_id"]
    assert foreign_key_errors(result) == []


def test_same_entity_across_datasets_merges():
    export = Relation(name="customers", columns=["customer_id", "name", "email"], key=["customer_id"], dataset="csv",
                      rows=[{"customer_id": n, "name": f"C{n}", "email": f"c{n}@example.com"} for n in range(10)])
    nested = Relation(name="order_customers", columns=["id", "email", "phone"], key=["id"], dataset="orders.json",
                      rows=[{"id": str(n), "email": f"c{n}@example.com", "phone": f"555-{n}"} for n in (2, 3, 11)])
    orders = Relation(name="orders", columns=["order_id", "customer_id"], key=["order_id"], dataset="orders.json",
                      rows=[{"order_id": n, "customer_id": str(n % 3 + 2) if n % 3 < 2 else "11"} for n in range(6)])
    relations = RelationSet(relations={"customers": export, "order_customers": nested, "orders": orders},
                            links=[Link("orders", ["customer_id"], "order_customers", ["id"], "reference")])
    result = match_entities(relations)
    assert sorted(result.relations) == ["customers", "orders"]
    customers = result.relations["customers"]
    assert len(customers.rows) == 11
    assert "phone" in customers.columns
    assert result.links[0].parent == "customers"
    assert all(isinstance(row["customer_id"], int) for row in result.relations["orders"].rows)
    merge = next(decision for decision in result.decisions if decision.code == "N310")
    assert merge.evidence["key_overlap"] == pytest.approx(2 / 3, abs=0.001)
    assert foreign_key_errors(result) == []


def test_unrelated_small_keys_do_not_merge():
    stores = Relation(name="stores", columns=["store_id", "name"], key=["store_id"], dataset="a",
                      rows=[{"store_id": n, "name": f"S{n}"} for n in range(1, 6)])
    sales = Relation(name="sales", columns=["sale_id", "amount"], key=["sale_id"], dataset="a",
                     rows=[{"sale_id": n, "amount": n * 2.5} for n in range(1, 50)])
    result = match_entities(RelationSet(relations={"stores": stores, "sales": sales}))
    assert sorted(result.relations) == ["sales", "stores"]
    assert result.questions == []


def test_text_reference_to_integer_key_links_and_converts():
    # A child stores the parent's integer key as text, as SQL dumps with VARCHAR columns do.
    accounts = Relation(name="accounts", columns=["id", "name"], key=["id"], dataset="dump",
                        rows=[{"id": n, "name": f"A{n}"} for n in (1, 2, 3)])
    contacts = Relation(name="contacts", columns=["id", "account_id"], key=["id"], dataset="dump",
                        rows=[{"id": 1, "account_id": "2"}, {"id": 2, "account_id": "3"}, {"id": 3, "account_id": None}])
    result = match_entities(RelationSet(relations={"accounts": accounts, "contacts": contacts}))
    assert links_of(result) == {("contacts", "account_id", "accounts")}
    assert [row["account_id"] for row in result.relations["contacts"].rows] == [2, 3, None]
    assert foreign_key_errors(result) == []


def test_composite_key_types_match_after_split():
    # Line items keyed by (order_number, line) reference a product whose code is text in both places.
    rows = [{"order_number": 100 + n // 3, "line": n % 3 + 1, "product_code": f"{n % 4:03d}",
             "product_title": f"T{n % 4}", "product_size": f"S{n % 4}", "quantity": n % 5} for n in range(36)]
    result = normalize(single(rows, "line_items"))
    assert result.relations["line_items"].key == ["order_number", "line"]
    products = result.relations["products"]
    assert {type(row["product_code"]) for row in products.rows} == {str}
    assert foreign_key_errors(result) == []


def test_composite_reference_keeps_types():
    # Stock rows name a bin by (warehouse_code, bin_number); the bins table must use the same types.
    rows = [{"stock_id": n, "warehouse_code": f"W{n % 2}", "bin_number": n % 3, "bin_label": f"W{n % 2}-{n % 3}",
             "bin_zone": f"Z{(n % 2) * 3 + n % 3}", "quantity": n} for n in range(30)]
    result = normalize(single(rows, "stock"))
    link = next(link for link in result.links if link.child == "stock")
    assert link.child_columns == ["warehouse_code", "bin_number"]
    parent = result.relations[link.parent]
    assert parent.key == ["warehouse_code", "bin_number"]
    assert {type(row["bin_number"]) for row in parent.rows} == {int}
    assert {type(row["bin_number"]) for row in result.relations["stock"].rows} == {int}
    assert foreign_key_errors(result) == []


def test_same_shape_different_values_asks():
    categories = Relation(name="categories", columns=["id", "name"], key=["id"], dataset="a",
                          rows=[{"id": n, "name": f"Category {n}"} for n in range(1, 6)])
    tags = Relation(name="tags", columns=["id", "name"], key=["id"], dataset="b",
                    rows=[{"id": n, "name": f"tag-{n}"} for n in range(1, 6)])
    result = match_entities(RelationSet(relations={"categories": categories, "tags": tags}))
    assert sorted(result.relations) == ["categories", "tags"]
    question = next(question for question in result.questions if question.code == "Q310")
    assert question.hint == {"merge": [["categories", "tags"]]}


def test_merge_hint_merges():
    categories = Relation(name="categories", columns=["id", "name"], key=["id"], dataset="a",
                          rows=[{"id": n, "name": f"Category {n}"} for n in range(1, 6)])
    tags = Relation(name="tags", columns=["id", "name"], key=["id"], dataset="b",
                    rows=[{"id": n, "name": f"tag-{n}"} for n in range(4, 9)])
    result = match_entities(RelationSet(relations={"categories": categories, "tags": tags}),
                            Hints(merge=[["categories", "tags"]]))
    assert list(result.relations) == ["categories"]
    assert len(result.relations["categories"].rows) == 8


def test_self_list_becomes_self_junction():
    from types import SimpleNamespace

    from dmodel.unnest import unnest

    records = [{"contact_id": "C1", "name": "Ada", "related_contact_ids": "C2;C3"},
               {"contact_id": "C2", "name": "Bo", "related_contact_ids": "C1"},
               {"contact_id": "C3", "name": "Cy", "related_contact_ids": ""}]
    dataset = SimpleNamespace(name="contacts", records=records, entity=None, source="")
    result = match_entities(normalize(unnest([dataset])))
    pairs = result.relations["contact_related_contacts"]
    assert pairs.junction
    assert pairs.columns == ["contact_id", "related_contact_id"]
    assert links_of(result) == {("contact_related_contacts", "contact_id", "contacts"),
                                ("contact_related_contacts", "related_contact_id", "contacts")}
    assert foreign_key_errors(result) == []


def test_bad_dependency_hint_exits_2(tmp_path):
    import json
    import subprocess
    import sys

    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"dependencies": {"forbid": ["deals company_id"]}}), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(denormalize.ROOT / "scripts" / "design_schema.py"),
         str(denormalize.ROOT / "fixtures" / "example" / "discovery.json"), "-o", str(tmp_path / "model.json"),
         "--hints", str(hints)], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "dependencies.forbid[0]" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "model.json").exists()
