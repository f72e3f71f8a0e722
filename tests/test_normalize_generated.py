"""Normalize data denormalized from known schemas and compare with the schemas it came from."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import denormalize
from dmodel.decompose import NormalizeOptions, match_entities, normalize
from dmodel.hints import Hints

GENERATORS = {
    "chain": denormalize.chain,
    "star": denormalize.star,
    "snowflake": denormalize.snowflake,
    "enrollments": lambda rows: denormalize.enrollments(max(20, rows // 3))[0],
    "employees": denormalize.employees,
}


def recovered(case: denormalize.Case):
    return match_entities(normalize(case.relation_set()))


def assert_tables_match(result, case: denormalize.Case) -> None:
    assert sorted(result.relations) == sorted(case.tables)
    for name, table in case.tables.items():
        relation = result.relations[name]
        assert relation.columns == table.columns, name
        assert relation.key == table.key, name
        assert denormalize.as_bag(relation.rows, table.columns) == denormalize.as_bag(table.rows, table.columns), name


@pytest.mark.parametrize("size", [60, 500, 5000])
@pytest.mark.parametrize("schema", sorted(GENERATORS))
def test_schema_is_recovered(schema, size):
    case = GENERATORS[schema](size)
    result = recovered(case)
    assert_tables_match(result, case)
    links = {(link.child, ",".join(link.child_columns), link.parent) for link in result.links}
    assert links == case.links


@pytest.mark.parametrize("size", [60, 500, 5000])
@pytest.mark.parametrize("schema", sorted(GENERATORS))
def test_join_back_is_lossless(schema, size):
    case = GENERATORS[schema](size)
    result = normalize(case.relation_set())
    joined = denormalize.join_back(result, case.relation)
    assert denormalize.as_bag(joined, case.columns) == denormalize.as_bag(case.rows, case.columns)


@pytest.mark.parametrize("schema", sorted(GENERATORS))
def test_recovered_schema_loads_into_sqlite(schema):
    result = recovered(GENERATORS[schema](500))
    connection = denormalize.load_sqlite(result)
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    for name, relation in result.relations.items():
        assert connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == len(relation.rows)


def test_typos_ask_then_hint_recovers_schema():
    case = denormalize.chain(2000, typos=0.01, seed=5)
    first = normalize(case.relation_set())
    questions = [question for question in first.questions if question.code == "Q303"]
    assert [question.subject for question in questions] == ["orders.customer_email"]
    assert "customer_email" in first.relations["orders"].columns

    hints = Hints(**questions[0].hint)
    result = match_entities(normalize(case.relation_set(), hints))
    assert_tables_match(result, case)


@pytest.mark.parametrize(("schema", "entity", "key"), [
    ("chain", "customers", "customer_id"), ("star", "products", "product_id"),
    ("snowflake", "products", "product_id")])
def test_tiny_sample_keeps_unrepeated_entities(schema, entity, key):
    # Eight rows in which each customer or product occurs once: no evidence for a split.
    case = GENERATORS[schema](500)
    case.rows = case.rows[:8]
    result = normalize(case.relation_set())
    assert entity not in result.relations
    assert key in result.relations[case.relation].columns


@pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("DMODEL_LARGE_TESTS")),
                    reason="100,000-row case runs in CI or with DMODEL_LARGE_TESTS=1")
def test_hundred_thousand_rows_recovered_quickly():
    case = denormalize.chain(100_000, seed=7)
    started = time.perf_counter()
    result = normalize(case.relation_set())
    elapsed = time.perf_counter() - started
    assert elapsed < 20
    assert_tables_match(result, case)


def test_fixture_joins_back_losslessly():
    from dmodel.design import profile_relations
    from dmodel.loaders import load_inputs
    from dmodel.unnest import unnest

    discovery = denormalize.ROOT / "fixtures" / "example" / "discovery.json"
    relations = unnest(load_inputs([str(discovery)]).datasets)
    profile_relations(relations, Hints())
    result = normalize(relations)
    assert any(decision.code == "N303" for decision in result.decisions)
    for name, relation in relations.relations.items():
        joined = denormalize.join_back(result, name)
        assert denormalize.as_bag(joined, relation.columns) == denormalize.as_bag(relation.rows, relation.columns), name


VALUES = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "b", "", "NaN", "x y"]),
                   st.floats(allow_nan=True, allow_infinity=False, width=16), st.booleans())
NAMES = ["id", "customer_id", "customer_name", "city", "amount", "phone_1", "phone_2", "billing_city",
         "billing_zip", "shipping_city", "shipping_zip", "created_at", "position", "label"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({name: VALUES for name in NAMES}), min_size=1, max_size=40),
       st.lists(st.sampled_from(NAMES), min_size=2, max_size=len(NAMES), unique=True))
def test_arbitrary_rows_join_back(rows, columns):
    # Any mix of NULLs, NaN, booleans, numbers and text normalizes without error and joins back.
    rows = [{column: row[column] for column in columns} for row in rows]
    case = denormalize.Case(name="fuzz", relation="records", columns=columns, rows=rows, tables={})
    result = normalize(case.relation_set(), options=NormalizeOptions(min_support=1))
    joined = denormalize.join_back(result, "records")
    assert denormalize.as_bag(joined, columns) == denormalize.as_bag(rows, columns)
