"""CSV and JSON exports: fixed columns per view, no NaN, no spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json

import pytest

import node.quality
from node.errors import QueryError
from node.quality import COLUMNS, ExportFormat, View, build_report, export, rows_to_csv
from shared.schemas import Guideline
from tests.unit.node.quality.conftest import T0, annotation, pair, project, task


def _report(guideline: Guideline):  # type: ignore[no-untyped-def]
    data = project(
        guideline,
        tasks={1: task(1), 2: task(2)},
        pairs=(
            pair(1, "nodule-mask", "mask", 0.8, voxels_a=50, voxels_b=50),
            pair(1, "lung-rads", "classification", 1.0, a="2", b="2"),
            pair(2, "lung-rads", "classification", 0.0, a="2", b="3"),
        ),
        annotations=(annotation(1, 1, "alice", "lung-rads", "classification", {"value": "2"}),),
    )
    return build_report(data, T0)


@pytest.mark.parametrize("view", list(View))
def test_every_view_exports_its_columns(guideline: Guideline, view: View) -> None:
    report = _report(guideline)
    text, media_type, filename = export(report, view, ExportFormat.CSV)
    assert media_type == "text/csv" and filename == f"quality-lung-{view.value}.csv"
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS[view]
    assert all(len(r) == len(COLUMNS[view]) for r in rows[1:])
    body, media_type, _ = export(report, view, ExportFormat.JSON)
    assert media_type == "application/json"
    parsed = json.loads(body)  # strict JSON: NaN would not parse back as a number
    assert parsed["project"] == "lung" and "NaN" not in body


def test_label_rows_carry_target_and_metric(guideline: Guideline) -> None:
    text, _, _ = export(_report(guideline), View.LABELS, ExportFormat.CSV)
    rows = {(r["label"], r["guideline_version"]): r for r in csv.DictReader(io.StringIO(text))}
    mask = rows[("nodule-mask", "")]
    assert mask["metric"] == "pooled_dice" and float(mask["value"]) == pytest.approx(0.8)
    assert mask["target"] == "0.8" and mask["below_target"] == "false"
    assert rows[("nodule-box", "")]["value"] == ""  # undefined: no figures
    assert ("lung-rads", "lung-nodule@1.0") in rows


def test_csv_cells_never_start_a_formula() -> None:
    text = rows_to_csv([{"a": "=HYPERLINK(1)", "b": -0.5, "c": None, "d": True}], "abcd")
    assert text.splitlines()[1] == "'=HYPERLINK(1),-0.5,,true"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(QueryError, match="json or csv"):
        ExportFormat.parse("xlsx")


def test_public_api_is_sorted_and_complete() -> None:
    exported = node.quality.__all__
    assert exported == sorted(exported)
    assert all(hasattr(node.quality, name) for name in exported)
