"""The entity graph: tables as nodes, foreign keys as edges (networkx).

Edges point from the referencing (child) table to the referenced (parent)
table. Self references are kept in the graph but ignored for ordering.
"""

from __future__ import annotations

import networkx as nx

from dmodel.model import Entity


def build_graph(entities: list[Entity]) -> nx.MultiDiGraph:
    """Return a graph with one node per table and one edge per foreign key."""
    graph = nx.MultiDiGraph()
    for entity in entities:
        graph.add_node(entity.name)
    for entity in entities:
        for foreign_key in entity.foreign_keys:
            graph.add_edge(entity.name, foreign_key.ref_table, columns=tuple(foreign_key.columns),
                           on_delete=foreign_key.on_delete)
    return graph


def cycles(graph: nx.MultiDiGraph) -> list[list[str]]:
    """Return the reference cycles between different tables, each sorted, in a stable order."""
    simple = nx.DiGraph((child, parent) for child, parent in graph.edges() if child != parent)
    found = [sorted(cycle) for cycle in nx.simple_cycles(simple)]
    return sorted(found)


def creation_order(graph: nx.MultiDiGraph) -> list[str]:
    """Return table names so that every table comes after the tables it references.

    Ties are broken by name, so the order is deterministic. Tables that
    reference each other in a cycle are ordered by name among themselves;
    the seed relies on deferred foreign keys for them.
    """
    parents_first = nx.DiGraph()
    parents_first.add_nodes_from(graph.nodes)
    parents_first.add_edges_from((parent, child) for child, parent in graph.edges() if child != parent)
    condensed = nx.condensation(parents_first)
    members: dict[int, list[str]] = {}
    for table, component in condensed.graph["mapping"].items():
        members.setdefault(component, []).append(table)
    order: list[str] = []
    for component in nx.lexicographical_topological_sort(condensed, key=lambda node: min(members[node])):
        order.extend(sorted(members[component]))
    return order
