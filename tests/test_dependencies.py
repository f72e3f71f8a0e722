"""Functional-dependency discovery: exact and approximate FDs, support, NULLs, keys, sampling."""

from __future__ import annotations

import random
import time

import denormalize
from dmodel.dependencies import (
    DATETIME, IDENTIFIER, MEASURE, REAL, TEXT, DependencyOptions, column_kind, discover_dependencies,
)
from dmodel.relation import Relation


def relation_of(rows: list[dict], name: str = "items") -> Relation:
    return Relation(name=name, columns=list(rows[0]), rows=rows, dataset=name)


def fds_of(found) -> dict[str, object]:
    return {str(fd): fd for fd in found.dependencies}


def test_exact_dependency_with_support():
    rows = [{"order_id": n, "customer_id": n % 4, "customer_name": f"name {n % 4}"} for n in range(20)]
    found = discover_dependencies(relation_of(rows))
    fd = fds_of(found)["customer_id -> customer_name"]
    assert fd.exact
    assert fd.support == 4
    assert found.keys == [("order_id",)]


def test_approximate_dependency_measures_g3():
    rows = [{"order_id": n, "customer_id": n % 10, "email": f"c{n % 10}@example.com"} for n in range(200)]
    rows[7]["email"] = "typo@example.com"
    rows[8]["email"] = "typo2@example.com"
    found = discover_dependencies(relation_of(rows))
    fd = fds_of(found)["customer_id -> email"]
    assert fd.violations == 2
    assert fd.error == 2 / 200
    assert not fd.exact


def test_error_above_threshold_is_not_reported():
    rows = [{"order_id": n, "customer_id": n % 10, "email": f"c{n % 10}@example.com"} for n in range(200)]
    for index in range(0, 200, 20):
        rows[index]["email"] = f"other{index}@example.com"
    found = discover_dependencies(relation_of(rows))
    assert "customer_id -> email" not in fds_of(found)
    loose = discover_dependencies(relation_of(rows), DependencyOptions(max_error=0.1))
    assert fds_of(loose)["customer_id -> email"].violations == 10


def test_null_left_hand_side_is_not_evidence():
    rows = [{"id": n, "code": n % 3 if n % 5 else None, "label": f"L{n % 3}" if n % 5 else f"x{n}"}
            for n in range(30)]
    fd = fds_of(discover_dependencies(relation_of(rows)))["code -> label"]
    assert fd.exact
    assert fd.rows == 24


def test_null_right_hand_side_is_a_value():
    rows = [{"id": n, "code": n % 3, "label": f"L{n % 3}"} for n in range(30)]
    rows[4]["label"] = None
    found = discover_dependencies(relation_of(rows), DependencyOptions(max_error=0.1))
    assert fds_of(found)["code -> label"].violations == 1


def test_measures_and_timestamps_stay_out_of_lhs():
    rows = [{"id": n, "created_at": f"2024-01-0{1 + n % 3}T10:00:00Z", "amount": float(n % 3) + 0.5,
             "price": n % 3, "status": f"s{n % 3}"} for n in range(30)]
    found = discover_dependencies(relation_of(rows))
    assert found.kinds["created_at"] == DATETIME
    assert found.kinds["amount"] == MEASURE
    assert found.kinds["price"] == MEASURE
    assert all(fd.lhs == ("status",) for fd in found.dependencies)
    assert "status -> amount" in fds_of(found)


def test_free_text_stays_out_of_lhs():
    note = "please call before delivery because the gate code changed last week"
    rows = [{"id": n, "note": f"{note} {n % 3}", "flag": f"f{n % 3}"} for n in range(30)]
    found = discover_dependencies(relation_of(rows))
    assert found.kinds["note"] == TEXT
    assert "note -> flag" not in fds_of(found)
    assert "flag -> note" in fds_of(found)


def test_constant_column_is_left_out():
    rows = [{"id": n, "group": n % 3, "currency": "EUR"} for n in range(30)]
    found = discover_dependencies(relation_of(rows))
    assert not any(fd.rhs == "currency" for fd in found.dependencies)


def test_composite_left_hand_side():
    rows = []
    for order in range(8):
        for line in range(1, 4):
            rows.append({"order_id": order, "line_number": line, "product_code": f"P{(order + line) % 5}",
                         "batch": order * 10 + line})
    rows = rows * 2
    found = discover_dependencies(relation_of(rows))
    assert fds_of(found)["order_id, line_number -> batch"].support == 24
    assert "order_id -> batch" not in fds_of(found)


def test_mixed_number_and_nan_strings():
    values = [1.5, "NaN", 2, "n/a", 3.25, None, "4.5"]
    rows = [{"id": n, "discount": values[n % len(values)], "tier": f"t{n % 2}"} for n in range(28)]
    relation = relation_of(rows)
    assert column_kind(relation, "discount") in (REAL, MEASURE)
    found = discover_dependencies(relation)
    assert not any("discount" in fd.lhs for fd in found.dependencies)
    assert found.null_counts["discount"] == 12


def test_profile_logical_type_wins():
    rows = [{"id": n, "ref": n % 4} for n in range(20)]
    relation = relation_of(rows)
    relation.profiles["ref"] = {"logical_type": "real"}
    assert column_kind(relation, "ref") == REAL
    assert column_kind(relation, "id") == IDENTIFIER


def test_sample_agrees_with_full_search():
    case = denormalize.chain(6000, seed=3)
    relation = case.relation_set().relations["orders"]
    full = discover_dependencies(relation, DependencyOptions(sample_rows=100_000))
    sampled = discover_dependencies(relation, DependencyOptions(sample_rows=1500))
    assert sampled.sampled_rows == 1500
    assert sorted(map(str, sampled.dependencies)) == sorted(map(str, full.dependencies))
    assert sampled.keys == full.keys


def test_wide_relation_runs_in_seconds():
    columns, rows = denormalize.wide(20_000, 30)
    relation = Relation(name="orders", columns=columns, rows=rows, dataset="wide")
    started = time.perf_counter()
    found = discover_dependencies(relation)
    elapsed = time.perf_counter() - started
    assert elapsed < 10
    assert "customer_id -> customer_name" in fds_of(found)
    assert "product_id -> unit_price" in fds_of(found)


def test_sample_miss_is_refined_on_all_rows():
    # Three rows outside the sample break product_code -> price_band; adding region_code repairs it.
    rows = [{"id": n, "product_code": f"P{n % 100}", "region_code": "EU" if n % 2 else "UK",
             "price_band": f"B{n % 100}"} for n in range(20_000)]
    sample = set(random.Random(0).sample(range(20_000), 1000))
    planted = [n for n in range(20_000) if n not in sample and n % 100 == 7][:3]
    for n in planted:
        rows[n].update(region_code="US", price_band="B-us")
    relation = relation_of(rows, "prices")
    sampled = discover_dependencies(relation, DependencyOptions(sample_rows=1000, max_error=0, seed=0))
    full = discover_dependencies(relation, DependencyOptions(sample_rows=100_000, max_error=0))
    assert "product_code, region_code -> price_band" in fds_of(sampled)
    assert "product_code -> price_band" not in fds_of(sampled)
    assert sorted(fds_of(sampled)) == sorted(fds_of(full))
