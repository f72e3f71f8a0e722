"""Overlap across clients: shared concepts, the concept x client matrix and the recommendation."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import run_cli

from dmodel.errors import InputError
from dmodel.loaders import load_inputs
from dmodel.overlap import OverlapReport, overlap, render_markdown

DATA = Path(__file__).parent / "data" / "mapping"
CLIENTS = ["hubspot", "salesforce", "spreadsheet"]
NAMES = ["Blue Heron Hospitality Supply", "Tidewater Provisions", "Marlow & Finch Catering Equipment"]


def three_clients(threshold: Fraction = Fraction(2, 3)) -> OverlapReport:
    inputs = [(name, load_inputs([str(DATA / client / "discovery.json")])) for client, name in zip(CLIENTS, NAMES)]
    return overlap(inputs, threshold)


def concept(report: OverlapReport, name: str):
    return next(item for item in report.concepts if item.concept == name)


def field(report: OverlapReport, entity: str, name: str):
    return next(item for item in concept(report, entity).fields if item.concept == name)


def discovery(tmp_path: Path, name: str, datasets: dict[str, list[dict]]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"client": {"name": name}, "datasets": [
        {"name": dataset, "records": records} for dataset, records in datasets.items()]}), encoding="utf-8")
    return str(path)


def shop_clients(tmp_path: Path) -> list[str]:
    """Three small clients: two sell products under different names, each tracks deals with a next step."""
    return [
        discovery(tmp_path, "Alder Bakery Supply", {
            "products": [{"SKU": "AB-1", "Title": "Proofing basket", "Price": "12.50"}],
            "deals": [{"Deal Name": "Café fit-out", "Amount": "900", "Stage": "Proposal", "Next Step": "Call"}]}),
        discovery(tmp_path, "Birch Brewing Kit", {
            "items": [{"Item Code": "BB-7", "Name": "Fermenter", "Unit Price": "80.00"}],
            "opportunities": [{"Name": "Brewpub", "Value": "4000", "Status": "Won", "Next step": "Invoice"}]}),
        discovery(tmp_path, "Cedar Print Shop", {
            "tickets": [{"Ticket ID": "T-1", "Subject": "Paper jam"}],
            "pipeline": [{"Opportunity": "Menus", "Amount": "300", "Stage": "Lead", "Next steps": "Send proof"}]}),
    ]


def test_crm_concepts_recur():
    report = three_clients()
    assert [item.concept for item in report.concepts[:3]] == ["customer", "opportunity", "engagement"]
    assert concept(report, "customer").clients == {
        NAMES[0]: ["hubspot_contacts"], NAMES[1]: ["Account"], NAMES[2]: ["sales_tracker (embedded)"]}
    assert concept(report, "opportunity").share == 1.0
    assert concept(report, "engagement").share == 0.67


def test_stage_concept_joins_vendor_names():
    stage = field(three_clients(), "opportunity", "stage")
    assert stage.standard_column == "opportunities.stage_id"
    assert stage.clients == {NAMES[0]: ["Deal Stage"], NAMES[1]: ["StageName"], NAMES[2]: ["Status"]}


def test_recommendations_follow_threshold():
    report = three_clients()
    assert concept(report, "customer").recommendation.startswith("keep: in the standard")
    assert concept(report, "engagement").recommendation.startswith("keep: in the standard")
    assert concept(report, "initiative").recommendation.startswith("keep as optional")
    strict = three_clients(Fraction(1))
    assert concept(strict, "engagement").recommendation.startswith("keep as optional")


def test_recurring_custom_field_promoted():
    item = field(three_clients(), "opportunity", "type")
    assert item.standard_column is None
    assert item.clients == {NAMES[0]: ["Deal Type"], NAMES[1]: ["Type"]}
    assert item.recommendation == "promote from custom_fields to a column of opportunities"


def test_single_client_field_stays_custom():
    item = field(three_clients(), "opportunity", "next step")
    assert item.clients == {NAMES[2]: ["Next step"]}
    assert item.recommendation == "client-specific: custom_fields"


def test_summary_reads_as_recommendation():
    summary = three_clients().summary
    assert summary[0].startswith("We compared the discovery data of 3 clients")
    assert "at least 2 of the 3 clients" in summary[0]
    assert "The standard CRM model already covers what they share: customer, opportunity and engagement." in summary
    assert any(line.startswith("Promote opportunity.type from custom_fields") for line in summary)


def test_new_shared_entity_recommended(tmp_path):
    inputs = [(Path(path).stem, load_inputs([path])) for path in shop_clients(tmp_path)]
    report = overlap(inputs)
    product = concept(report, "product")
    assert product.standard_table is None
    assert product.clients == {"Alder Bakery Supply": ["products"], "Birch Brewing Kit": ["items"]}
    assert product.recommendation == "add to the standard: used by 2 of 3 clients"
    assert concept(report, "ticket").recommendation == "client-specific: leave it out of the standard"
    assert any(line.startswith("Add product to the standard model") for line in report.summary)


def test_new_shared_field_promoted(tmp_path):
    inputs = [(Path(path).stem, load_inputs([path])) for path in shop_clients(tmp_path)]
    report = overlap(inputs)
    item = field(report, "opportunity", "next step")
    assert sorted(item.clients) == ["Alder Bakery Supply", "Birch Brewing Kit", "Cedar Print Shop"]
    assert item.recommendation == "promote from custom_fields to a column of opportunities"


def test_markdown_matrix():
    text = render_markdown(three_clients())
    assert text.startswith("# Overlap across 3 clients\n")
    header = "| concept | standard | " + " | ".join(NAMES) + " | share | recommendation |"
    assert header in text
    assert ("| opportunity | opportunities | hubspot_deals | Opportunity | sales_tracker | 100% | "
            "keep: in the standard (opportunities) and used by 3 of 3 |") in text
    assert "## Fields of opportunity" in text
    assert "## Fields of initiative" not in text


def test_overlap_needs_two_clients():
    with pytest.raises(InputError, match="at least two clients"):
        overlap([("one", load_inputs([str(DATA / "hubspot" / "discovery.json")]))])


def test_duplicate_client_names_numbered():
    loaded = load_inputs([str(DATA / "hubspot" / "discovery.json")])
    report = overlap([("Same", loaded), ("Same", loaded)])
    assert report.clients == ["Same", "Same (2)"]


def test_overlap_command(tmp_path):
    paths = [DATA / client / "discovery.json" for client in CLIENTS]
    result = run_cli("overlap", *paths, "-o", tmp_path, "--json")
    assert result.status == 0, result.stderr
    payload = result.json()
    assert payload["clients"] == NAMES
    assert payload["threshold"] == pytest.approx(2 / 3)
    assert json.loads((tmp_path / "overlap.json").read_text(encoding="utf-8"))["concepts"] == payload["concepts"]
    assert (tmp_path / "overlap.md").read_text(encoding="utf-8") == render_markdown(three_clients())


def test_overlap_command_threshold(tmp_path):
    paths = [DATA / client / "discovery.json" for client in CLIENTS]
    result = run_cli("overlap", *paths, "--threshold", "1", "--json")
    engagement = next(item for item in result.json()["concepts"] if item["concept"] == "engagement")
    assert engagement["recommendation"].startswith("keep as optional")


def test_overlap_command_is_deterministic():
    paths = [DATA / client / "discovery.json" for client in CLIENTS]
    assert run_cli("overlap", *paths).stdout == run_cli("overlap", *paths).stdout


@pytest.mark.parametrize("extra, message", [
    (["--threshold", "most"], "is not a number"),
    (["--threshold", "0"], "is outside (0, 1]"),
    (["--threshold", "3/2"], "is outside (0, 1]"),
])
def test_overlap_command_bad_threshold(extra, message):
    paths = [DATA / client / "discovery.json" for client in CLIENTS]
    result = run_cli("overlap", *paths, *extra)
    assert result.status == 2
    assert message in result.stderr


def test_overlap_command_one_client():
    result = run_cli("overlap", DATA / "hubspot" / "discovery.json", "--json")
    assert result.status == 2
    assert "at least two clients" in result.json()["error"]["message"]


def test_json_matrix_rows():
    report = three_clients()
    rows = {row["concept"]: row["cells"] for row in report.to_dict()["matrix"]}
    assert rows["engagement"] == [["hubspot_calls"], ["Task"], None]
    assert rows["opportunity.amount"] == [["Amount"], ["Amount"], ["Value"]]
    assert rows["opportunity.type"] == [["Deal Type"], ["Type"], None]
