"""Bulk import: many dossiers per transaction, each dossier all or nothing, resumable."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aidflow.adapters.bulk_import import ImportProgress, import_jsonl
from aidflow.adapters.demo import demo_dossiers
from aidflow.adapters.import_cli import import_app
from aidflow.application.dossier import run_dossier
from aidflow.application.errors import InputError
from aidflow.application.service import Aidflow
from aidflow.domain.identity import application_id

DEMO = list(demo_dossiers())


def write_jsonl(path: Path, dossiers: list[Any], extra_lines: tuple[str, ...] = ()) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for dossier in dossiers:
            out.write(json.dumps(dossier, ensure_ascii=False) + "\n")
        for line in extra_lines:
            out.write(line + "\n")
    return path


def overpaid(dossier: dict[str, Any]) -> dict[str, Any]:
    """The dossier with one more payment than was awarded (refused at its last step)."""
    refused = copy.deepcopy(dossier)
    award = next(s for s in refused["steps"] if s["do"] == "award")
    last = max(s["on"] for s in refused["steps"])
    refused["steps"].append({"on": last, "do": "pay", "ref": "TOO-MUCH", "amount": award["amount"],
                             "kind": "interim"})
    return refused


def later_aid_to_the_same_company(dossier: dict[str, Any]) -> dict[str, Any]:
    """Another dossier of the same company, every date two years later, references renamed."""
    text = json.dumps(dossier)
    for step in dossier["steps"]:
        if step["do"] == "sign":
            text = text.replace(f'"{step["convention"]}"', f'"{step["convention"]}-B"')
    text = text.replace(f'"{dossier["reference"]}', f'"{dossier["reference"]}-B')
    later = json.loads(text)

    def shift(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: shift(v) for k, v in node.items()}
        if isinstance(node, list):
            return [shift(v) for v in node]
        if isinstance(node, str) and len(node) == 10 and node[4] == "-" and node[7] == "-":
            return (date.fromisoformat(node) + timedelta(days=731)).isoformat()
        return node

    return shift(later)


def signed(dossiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in dossiers if any(s["do"] == "sign" for s in d["steps"])]


def test_a_file_imports_to_the_same_dossiers_as_recording_them_one_by_one(app, tmp_path):
    source = write_jsonl(tmp_path / "demo.jsonl", DEMO)
    report = import_jsonl(app, source, batch_size=10)
    expected = Aidflow(store="memory:")
    for dossier in DEMO:
        run_dossier(expected, dossier)
    assert (report.recorded, report.skipped, report.refused) == (len(DEMO), [], [])
    assert report.events == app.event_count() == expected.event_count()
    for dossier in DEMO:
        assert app.dossier(dossier["reference"]) == expected.dossier(dossier["reference"])
        assert app.decisions(dossier["reference"]) == expected.decisions(dossier["reference"])


def test_a_refused_dossier_records_nothing_and_the_others_are_recorded(app, tmp_path):
    good = DEMO[:5]
    bad = overpaid(signed(DEMO)[6])
    source = write_jsonl(tmp_path / "mixed.jsonl", [*good[:2], bad, *good[2:]])
    report = import_jsonl(app, source)
    assert report.recorded == 5
    assert [(r.line, r.reference) for r in report.refused] == [(3, bad["reference"])]
    assert (report.refused[0].field or "").startswith(f"steps[{len(bad['steps']) - 1}].")
    assert "refused" in report.refused[0].message
    assert application_id(bad["reference"]) not in app.repository
    expected = Aidflow(store="memory:")
    for dossier in good:
        run_dossier(expected, dossier)
    assert app.event_count() == expected.event_count()


def test_a_refused_dossier_that_changed_a_shared_company_leaves_the_batch_intact(app, tmp_path):
    first = signed(DEMO)[0]
    second = later_aid_to_the_same_company(first)
    source = write_jsonl(tmp_path / "shared.jsonl", [first, overpaid(second), DEMO[-1]])
    report = import_jsonl(app, source)
    assert report.recorded == 2
    assert [r.line for r in report.refused] == [2]
    assert report.retried_batches == 1
    company = app.company(first["beneficiary"]["siren"])
    assert company is not None
    assert len(company.aids_granted) == 1


def test_importing_the_same_file_again_records_nothing_more(app, tmp_path):
    source = write_jsonl(tmp_path / "demo.jsonl", DEMO[:12])
    import_jsonl(app, source, batch_size=5)
    before = app.event_count()
    again = import_jsonl(app, source, batch_size=5)
    assert (again.recorded, again.events, len(again.skipped)) == (0, 0, 12)
    assert app.event_count() == before


def test_a_partly_imported_file_is_completed_by_importing_it_again(app, tmp_path):
    import_jsonl(app, write_jsonl(tmp_path / "first.jsonl", DEMO[:7]))
    report = import_jsonl(app, write_jsonl(tmp_path / "all.jsonl", DEMO[:15]))
    assert (report.recorded, len(report.skipped)) == (8, 7)
    expected = Aidflow(store="memory:")
    for dossier in DEMO[:15]:
        run_dossier(expected, dossier)
    assert app.event_count() == expected.event_count()


def test_a_reference_twice_in_a_file_is_recorded_once(tmp_path):
    app = Aidflow(store="memory:")
    report = import_jsonl(app, write_jsonl(tmp_path / "twice.jsonl", [DEMO[0], DEMO[1], DEMO[0]]))
    assert report.recorded == 2
    assert report.skipped == [(3, DEMO[0]["reference"])]


def test_unreadable_lines_are_refused_with_their_line_number(tmp_path):
    app = Aidflow(store="memory:")
    lines = ("", "{not json", "[1, 2]", '{"aidflow": "dossier/1"}')
    source = write_jsonl(tmp_path / "bad.jsonl", [DEMO[0]], lines)
    report = import_jsonl(app, source)
    assert report.recorded == 1
    assert [(r.line, r.field) for r in report.refused] == [(3, "line"), (4, "line"), (5, "reference")]
    assert report.lines == 4


def test_batch_sizes_do_not_change_what_is_recorded(tmp_path):
    refused = overpaid(signed(DEMO[9:])[0])  # a dossier not among the nine: refused, not skipped
    source = write_jsonl(tmp_path / "demo.jsonl", [*DEMO[:9], refused])
    results = []
    for size in (1, 4, 500):
        app = Aidflow(store="memory:")
        report = import_jsonl(app, source, batch_size=size)
        results.append((report.recorded, len(report.refused), app.event_count()))
    one_by_one = Aidflow(store="memory:")
    for dossier in DEMO[:9]:
        run_dossier(one_by_one, dossier)
    assert results[0] == results[1] == results[2] == (9, 1, one_by_one.event_count())


def test_progress_is_reported_after_each_batch(tmp_path):
    seen: list[ImportProgress] = []
    source = write_jsonl(tmp_path / "demo.jsonl", DEMO[:10])
    import_jsonl(Aidflow(store="memory:"), source, batch_size=4, progress=seen.append)
    assert [p.lines_done for p in seen] == [4, 8, 10]
    assert seen[-1].bytes_done == seen[-1].bytes_total == source.stat().st_size


def test_a_missing_file_or_a_bad_batch_size_is_refused(tmp_path):
    app = Aidflow(store="memory:")
    with pytest.raises(InputError, match="cannot read"):
        import_jsonl(app, tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="batch size"):
        import_jsonl(app, write_jsonl(tmp_path / "x.jsonl", DEMO[:1]), batch_size=0)


def test_the_import_command_reports_refusals_and_exits_1(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    source = write_jsonl(tmp_path / "cli.jsonl", [*DEMO[:3], overpaid(signed(DEMO)[-1])])
    runner = CliRunner()
    result = runner.invoke(import_app, ["import", str(source), "--store", store])
    assert result.exit_code == 1
    assert "3 dossiers recorded" in result.output
    assert "refused dossiers" in result.output
    again = runner.invoke(import_app, ["import", str(source), "--store", store, "--json"])
    data = json.loads(again.stdout)  # stderr carries the per-batch log lines
    assert (data["recorded"], len(data["skipped"]), len(data["refused"])) == (0, 3, 1)
    assert "batch committed: 4 lines read, 0 recorded, 3 skipped, 1 refused" in again.stderr
    clean = write_jsonl(tmp_path / "clean.jsonl", DEMO[5:7])
    assert runner.invoke(import_app, ["import", str(clean), "--store", store]).exit_code == 0
