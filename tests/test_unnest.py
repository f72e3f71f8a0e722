"""First normal form: nested records become flat relations with links."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmodel.unnest import unnest


@dataclass
class Dataset:
    name: str
    records: list[dict[str, Any]]
    entity: str | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)


def links_of(result):
    return {(link.child, tuple(link.child_columns), link.parent, link.kind) for link in result.links}


def test_late_key_becomes_column():
    records = [{"id": number, "name": f"n{number}"} for number in range(1, 151)]
    records[100]["nickname"] = "late"
    result = unnest([Dataset("people", records)])
    people = result.relations["people"]
    assert "nickname" in people.columns
    assert people.rows[0]["nickname"] is None
    assert people.rows[100]["nickname"] == "late"


def test_array_of_objects_is_owned_child():
    # A generic array name such as `lines` is prefixed with its parent.
    records = [{"id": 1, "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]},
               {"id": 2, "lines": [{"sku": "a", "qty": 5}]}]
    result = unnest([Dataset("orders", records)])
    lines = result.relations["order_lines"]
    assert len(lines.rows) == 3
    assert lines.key == ["order_id", "position"]
    assert ("order_lines", ("order_id",), "orders", "owned") in links_of(result)


def test_nested_object_with_id_stored_once():
    customer = {"id": 7, "email": "a@example.com"}
    records = [{"id": 1, "customer": dict(customer)}, {"id": 2, "customer": dict(customer)}]
    result = unnest([Dataset("orders", records)])
    assert len(result.relations["customers"].rows) == 1
    assert [row["customer_id"] for row in result.relations["orders"].rows] == [7, 7]
    assert ("orders", ("customer_id",), "customers", "reference") in links_of(result)


def test_same_shape_objects_share_one_table():
    address = {"street": "1 Main St", "city": "Springfield"}
    records = [{"id": 1, "billing_address": dict(address), "shipping_address": dict(address)}]
    result = unnest([Dataset("orders", records)])
    addresses = result.relations["addresses"]
    assert len(addresses.rows) == 1
    order = result.relations["orders"].rows[0]
    assert order["billing_address_id"] == order["shipping_address_id"]


def test_objects_without_identity_flatten():
    records = [{"id": 1, "dimensions": {"width": 3, "height": 4}}]
    result = unnest([Dataset("boxes", records)])
    assert {"dimensions_width", "dimensions_height"} <= set(result.relations["boxes"].columns)


def test_repeated_children_become_junction():
    items = [{"id": 11, "sku": "a"}, {"id": 12, "sku": "b"}]
    records = [{"id": 1, "line_items": items, "fulfillments": [{"id": 90, "line_items": [items[0]]}]}]
    result = unnest([Dataset("orders", records)])
    assert len(result.relations["line_items"].rows) == 2
    junction = result.relations["fulfillment_line_items"]
    assert junction.junction
    assert junction.rows == [{"fulfillment_id": 90, "line_item_id": 11}]


def test_semicolon_list_becomes_junction():
    deals = [{"Deal ID": "D-1", "Contact IDs": "C-1;C-2"}, {"Deal ID": "D-2", "Contact IDs": "C-2"},
             {"Deal ID": "D-3", "Contact IDs": ""}]
    contacts = [{"Contact ID": "C-1"}, {"Contact ID": "C-2"}]
    result = unnest([Dataset("deals", deals), Dataset("contacts", contacts)])
    junction = result.relations["deal_contacts"]
    assert junction.junction
    assert len(junction.rows) == 3
    assert ("deal_contacts", ("contact_id",), "contacts", "reference") in links_of(result)


def test_scalar_array_becomes_child_values():
    records = [{"id": 1, "tags": ["red", "blue"]}, {"id": 2, "tags": ["red"]}]
    result = unnest([Dataset("products", records)])
    tags = result.relations["product_tags"]
    assert tags.rows == [{"product_id": 1, "tag": "red"}, {"product_id": 1, "tag": "blue"},
                         {"product_id": 2, "tag": "red"}]
    assert not tags.junction


def test_free_text_with_semicolon_stays_text():
    records = [{"id": 1, "note": "call back; busy"}, {"id": 2, "note": "left voicemail"}]
    result = unnest([Dataset("calls", records)])
    assert result.relations["calls"].rows[0]["note"] == "call back; busy"


def test_records_without_key_get_row_number():
    records = [{"name": "a"}, {"name": "a"}]
    result = unnest([Dataset("things", records)])
    things = result.relations["things"]
    assert len(things.rows) == 2
    assert things.key == ["row_number"]


def test_nested_copy_of_root_entity_kept_apart():
    orders = [{"id": 10, "customer": {"id": 1, "email": "a@example.com"}}]
    customers = [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": "b@example.com"}]
    result = unnest([Dataset("orders", orders), Dataset("customers", customers)])
    assert len(result.relations["customers"].rows) == 2
    assert len(result.relations["customers_2"].rows) == 1


def test_self_junction_gets_two_columns():
    records = [{"id": 1, "people": [{"id": 2}]}, {"id": 2, "people": [{"id": 1}]}]
    result = unnest([Dataset("people", records)])
    junction = result.relations["person_people"]
    assert junction.junction
    assert junction.columns == ["person_id", "person_id_2"]
    assert junction.rows == [{"person_id": 1, "person_id_2": 2}, {"person_id": 2, "person_id_2": 1}]
