"""The entity graph: creation order, cycles and relationships."""

from __future__ import annotations

from dmodel.graph import build_graph, creation_order, cycles
from dmodel.model import Column, Entity, ForeignKey


def entity(name: str, *references: str) -> Entity:
    columns = [Column(name="id", logical_type="integer", sqlite_type="INTEGER", nullable=False)]
    keys = []
    for parent in references:
        columns.append(Column(name=f"{parent}_ref", logical_type="integer", sqlite_type="INTEGER"))
        keys.append(ForeignKey(columns=[f"{parent}_ref"], ref_table=parent, ref_columns=["id"]))
    return Entity(name=name, columns=columns, primary_key=["id"], foreign_keys=keys)


def test_parents_come_first():
    order = creation_order(build_graph([entity("lines", "orders"), entity("orders", "customers"),
                                        entity("customers")]))
    assert order == ["customers", "orders", "lines"]


def test_order_breaks_ties_by_name():
    order = creation_order(build_graph([entity("b"), entity("a"), entity("c", "b")]))
    assert order == ["a", "b", "c"]


def test_self_reference_ignored_for_order():
    order = creation_order(build_graph([entity("employees", "employees", "teams"), entity("teams")]))
    assert order == ["teams", "employees"]


def test_cycle_reported_and_ordered():
    graph = build_graph([entity("a", "b"), entity("b", "a"), entity("c", "a")])
    assert cycles(graph) == [["a", "b"]]
    order = creation_order(graph)
    assert order.index("c") > order.index("a")
    assert set(order) == {"a", "b", "c"}
