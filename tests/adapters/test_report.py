"""The HTML audit report (issue 6 item 4): one self-contained file, checked as HTML and in a browser.

The pure checks parse the report with :mod:`html.parser` (balanced tags, no external
resource, escaped text). The browser checks open it in headless Chromium (Debian's
``chromium``, which ``.ci/run`` installs): ``--dump-dom`` gives the DOM as the browser
built it, where the key figures of the DOSSIER.md example must be found, and
``--screenshot`` renders it to a PNG. Without Chromium they skip locally and fail in CI
(``CI`` set). ``AIDFLOW_CHROMIUM`` names another binary; ``AIDFLOW_REPORT_SCREENSHOT``
keeps a copy of the screenshot there (to look at it).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from aidflow.adapters.report import render_audit_report
from aidflow.adapters.report_cli import register_report_command
from aidflow.application.dossier import StepRefused, load_file, run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.errors import InvalidValue
from helpers import CONVENTION, DOSSIER_EXAMPLE, REFERENCE, make_eligible, submit_command, with_value

GENERATED_AT = datetime(2027, 7, 1, 9, 30, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_LEAVES = {"line", "rect", "circle", "polygon", "path", "polyline", "ellipse"}


# ------------------------------------------------------------------ parsing helpers


class Page(HTMLParser):
    """Parses a report: checks tags balance, keeps text, tables by id, attributes and SVGs."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.svg_first_child: list[str] = []
        self._svg_opened = False
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed at the end: {self.stack}")

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text_parts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if self._svg_opened:
            self.svg_first_child.append(tag)
            self._svg_opened = False
        if tag == "svg":
            self._svg_opened = True
        if tag == "table":
            self._table = attributes.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID and tag not in SVG_LEAVES:
            self.problems.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] in ("style", "script"):
            return
        self.text_parts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table_id: str) -> list[list[str]]:
        return self.tables[table_id]


def row_of(page: Page, table_id: str, first: str) -> list[str]:
    found = [r for r in page.rows(table_id) if r and r[0] == first]
    assert len(found) == 1, (table_id, first, page.rows(table_id))
    return found[0]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store (it keeps the hash chain) holding the DOSSIER.md example: in breach, 18 750 due."""
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'aidflow.sqlite'}"
    app = Aidflow(store=url)
    try:
        result = run_dossier(app, copy.deepcopy(DOSSIER_EXAMPLE))
        assert result.state is not None
        assert result.state.status == "in_breach"
    finally:
        app.close()
    return url


@pytest.fixture
def example_app(example_store: str) -> Iterator[Aidflow]:
    app = Aidflow(store=example_store)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def report(example_app: Aidflow) -> str:
    return render_audit_report(example_app, CONVENTION, generated_at=GENERATED_AT)


# ------------------------------------------------------------------ pure HTML checks


def test_the_report_is_one_well_formed_document(report: str) -> None:
    page = Page(report)
    assert page.problems == []
    assert report.startswith("<!DOCTYPE html>")
    names = [t for t, _ in page.tags]
    for single in ("html", "head", "body", "style", "header", "main", "footer"):
        assert names.count(single) == 1, single
    head = report[: report.index("</head>")]
    assert head.count("<title>") == 1
    html_attributes = next(a for t, a in page.tags if t == "html")
    assert html_attributes.get("lang") == "en"
    assert ("meta", {"charset": "utf-8"}) in page.tags
    title = re.search(r"<title>(.*?)</title>", report)
    assert title is not None
    assert CONVENTION in title.group(1)


def test_the_report_loads_nothing_from_outside(report: str) -> None:
    page = Page(report)
    names = {t for t, _ in page.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "base", "image", "use"}
    for tag, attributes in page.tags:
        for name, value in attributes.items():
            assert name not in ("src", "href", "xlink:href", "srcset", "action"), (tag, name, value)
            assert not name.startswith("on"), (tag, name)
    assert "http://" not in report
    assert "https://" not in report
    assert "url(" not in report
    assert "@import" not in report
    assert "@font-face" not in report


def test_charts_and_tables_are_accessible(report: str) -> None:
    page = Page(report)
    svgs = [a for t, a in page.tags if t == "svg"]
    assert len(svgs) == 2
    assert all(a.get("role") == "img" and a.get("aria-label") for a in svgs)
    assert page.svg_first_child == ["title", "title"]
    headers = [a for t, a in page.tags if t == "th"]
    assert headers
    assert all(a.get("scope") == "col" for a in headers)


def test_the_key_figures_are_in_the_report(report: str) -> None:
    page = Page(report)
    text = page.text
    assert f"Audit report — Convention {CONVENTION}" in text
    assert "Atelier Garonne SAS (SIREN 732829320)" in text
    assert "in breach" in text
    for amount in ("250 000.00 €", "75 000.00 €", "18 750.00 €"):
        assert amount in text, amount
    o2 = row_of(page, "obligations-table", "O2")
    assert o2[2:6] == ["2024-03-01", "2028-12-31", "mandatory", "breached"]
    assert row_of(page, "obligations-table", "O6")[5] == "not applicable"
    assert row_of(page, "headcount-table", "2027-03-01") == ["2027-03-01", "9", "12", "3", "below commitment"]
    assert row_of(page, "payments-table", "P1") == ["P1", "2024-04-15", "advance", "75 000.00 €"]
    # the clawback assessment, its explanation and policy version
    assert "Assessment as of 2027-06-30 (latest)" in text
    assert "aidflow-default/1" in text
    assert ("jobs 9 declared on 2027-03-01 < 12 committed: shortfall 3/12 = 0.25 × paid 75000.00 "
            "= 18750.00") in text
    # the decision trail: rule-book version and citations
    assert "#1 eligibility on 2024-02-01 — rule book 2022-11-25" in text
    assert "#3 clawback on 2027-06-30 — policy aidflow-default/1" in text
    assert "Citations:" in text
    assert "002_8b3eb659ad96bcac.txt L3339-3343" in text
    # the chain check, and the footer's inputs
    assert "Verification OK" in text
    assert re.search(r"Store digest [0-9a-f]{64}", text)
    assert "Generated by aidflow" in text
    assert "at 2027-07-01 09:30:00 UTC" in text


def test_the_timeline_dates_every_event_twice(report: str) -> None:
    rows = Page(report).rows("timeline-table")
    assert rows[0] == ["business date", "recorded at (UTC)", "record", "event", "summary"]
    events = [r[3] for r in rows[1:]]
    assert events[0] == "Submitted"
    assert events[-1] == "ClawbackAssessed"
    assert {"Awarded", "Signed", "PaymentRecorded", "HeadcountDeclared"} <= set(events)
    business_dates = [r[0] for r in rows[1:]]
    assert business_dates == sorted(business_dates)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[1]) for r in rows[1:])
    award = next(r for r in rows if r[3] == "Awarded")
    assert award[4] == "grant 200 000.00 €, advance 50 000.00 € — commission permanente CP/2024-03/12.04"


def test_the_obligation_bars_mark_the_breach_and_the_date(report: str) -> None:
    bars = re.findall(r'<g class="obligation" data-obligation="(O\d)">', report)
    assert bars == ["O1", "O2", "O3", "O4", "O5"]
    o2 = report[report.index('data-obligation="O2"'):]
    o2 = o2[: o2.index("</g>")]
    assert 'class="bar breached"' in o2
    assert "2028-12-31" in o2
    assert report.count('class="breach-marker"') == 1
    assert "breach of O2 on 2027-03-01 (established)" in report
    assert re.search(r"today \d{4}-\d\d-\d\d", report)
    assert "assessed 2027-06-30" in report


def test_as_of_shows_the_dossier_before_the_breach(example_app: Aidflow) -> None:
    page = Page(render_audit_report(example_app, CONVENTION, as_of=date(2027, 1, 1)))
    text = page.text
    assert page.problems == []
    assert "as of 2027-01-01" in text
    assert "No clawback assessment recorded." in text
    assert "18 750" not in text
    assert page.rows("headcount-table")[1:] == [["none recorded"]]
    assert "HeadcountDeclared" not in [r[3] for r in page.rows("timeline-table")[1:]]
    assert row_of(page, "obligations-table", "O2")[5] == "running"


def test_hostile_text_is_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    app = Aidflow(store="memory:")
    try:
        data = with_value(submit_command(), "beneficiary.name", hostile)
        app.submit(data)
        make_eligible(app)
        app.award(REFERENCE, {"on": "2024-03-14", "amount": "250000.00", "grant": "200000.00",
                              "advance": "50000.00", "body": "commission <b>permanente</b>",
                              "deliberation": 'CP/"2024"&<i>'})
        app.sign(REFERENCE, {"on": "2024-04-02", "convention": CONVENTION})
        page_text = render_audit_report(app, REFERENCE)
    finally:
        app.close()
    page = Page(page_text)
    assert page.problems == []
    assert "<script>" not in page_text
    assert "<b>" not in page_text
    assert "<i>" not in page_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page_text
    assert hostile in page.text
    assert "commission <b>permanente</b>" in page.text
    assert 'CP/"2024"&<i>' in page.text
    # the in-memory store keeps no chain: the report says so instead of failing
    assert "Hash-chain check not available" in page.text


def test_an_application_without_convention_still_reports() -> None:
    app = Aidflow(store="memory:")
    try:
        app.submit(submit_command())
        page = Page(render_audit_report(app, REFERENCE))
    finally:
        app.close()
    assert page.problems == []
    assert f"Audit report — Application {REFERENCE}" in page.text
    assert "No convention is signed" in page.text
    assert "No decision recorded yet." in page.text


def test_a_low_headcount_before_the_programme_end_is_not_shown_as_held_against_o2() -> None:
    """O2 counts declarations from the programme end (2025-12-31 here): the report agrees."""
    dossier = copy.deepcopy(DOSSIER_EXAMPLE)
    kept = [s for s in dossier["steps"] if s["do"] not in ("declare_headcount", "assess_clawback")]
    dossier["steps"] = kept
    dossier["steps"].append({"on": "2025-06-30", "do": "declare_headcount", "jobs": 9})
    app = Aidflow(store="memory:")
    try:
        run_dossier(app, dossier)
        page = Page(render_audit_report(app, CONVENTION, generated_at=GENERATED_AT))
    finally:
        app.close()
    row = row_of(page, "headcount-table", "2025-06-30")
    assert row[4] == "below commitment, before the programme end 2025-12-31 (not held against O2)"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dossiers"


def _expected(path: Path) -> dict[str, Any]:
    expected = path.with_name(f"{path.stem}.expected.json")
    loaded: dict[str, Any] = json.loads(expected.read_text(encoding="utf-8"))
    return loaded


def _record(app: Aidflow, path: Path) -> None:
    """Record an example file; only files expected to stop at a refused step (``_refused``) may."""
    try:
        run_dossier(app, load_file(path))
    except StepRefused:
        if "_refused" not in _expected(path):
            raise


@pytest.mark.parametrize(
    "path",
    sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")),
    ids=lambda p: p.stem,
)
def test_every_example_dossier_reports(path: Path, tmp_path: Path) -> None:
    data = load_file(path)
    app = Aidflow(store=f"sqlite:///{tmp_path / 'aidflow.sqlite'}")
    try:
        for earlier in _expected(path).get("_after", []):  # the dossiers it is recorded after
            _record(app, EXAMPLES / earlier)
        _record(app, path)
        page = Page(render_audit_report(app, data["reference"]))
    finally:
        app.close()
    assert page.problems == []
    assert "Verification OK" in page.text


# ------------------------------------------------------------------ CLI


def _cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """aidflow (test harness)."""

    register_report_command(app)
    return app


def test_cli_writes_the_report(example_store: str, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    arguments = ["report", CONVENTION, "--out", str(target), "--as-of", "2027-06-30",
                 "--store", example_store]
    result = CliRunner().invoke(_cli(), arguments)
    assert result.exit_code == 0, result.output
    page = Page(target.read_text(encoding="utf-8"))
    assert page.problems == []
    assert "18 750.00 €" in page.text
    assert "as of 2027-06-30" in page.text


def test_cli_prints_the_report_without_out(example_store: str) -> None:
    result = CliRunner().invoke(_cli(), ["report", REFERENCE, "--store", example_store])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert CONVENTION in result.stdout


def test_cli_refuses_a_bad_date(example_store: str) -> None:
    arguments = ["report", CONVENTION, "--as-of", "30/06/2027", "--store", example_store]
    result = CliRunner().invoke(_cli(), arguments)
    assert isinstance(result.exception, InvalidValue)
    assert result.exception.field == "--as-of"


# ------------------------------------------------------------------ headless Chromium


def chromium() -> str:
    """The Chromium binary; skips without it locally, fails in CI (where .ci/run installs it)."""
    candidates = [os.environ.get("AIDFLOW_CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"]
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    reason = "headless Chromium is not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser test (.ci/run installs it)")
    pytest.skip(reason)


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_without_chromium_the_browser_test_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Chromium is not installed"):
        chromium()


def run_chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}", *arguments,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_report_renders_in_headless_chromium(report: str, tmp_path: Path) -> None:
    binary = chromium()
    page_file = tmp_path / "report.html"
    page_file.write_text(report, encoding="utf-8")
    url = page_file.as_uri()

    dumped = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url).stdout
    dom = Page(dumped)
    text = dom.text
    assert f"Audit report — Convention {CONVENTION}" in text
    assert "18 750.00 €" in text
    assert row_of(dom, "obligations-table", "O2")[3] == "2028-12-31"
    assert row_of(dom, "headcount-table", "2027-03-01")[1:3] == ["9", "12"]
    # the SVGs are part of the DOM the browser built: the O2 bar and the 9 vs 12 chart
    assert re.search(r'data-obligation="O2".*?2028-12-31', dumped, re.DOTALL)
    assert "9 jobs declared on 2027-03-01 (12 committed)" in dumped
    assert "12 committed" in text
    assert "<script" not in dumped

    shot = tmp_path / "report.png"
    run_chromium(binary, tmp_path / "profile-shot", "--window-size=1280,4200", f"--screenshot={shot}", url)
    width, height = png_size(shot)
    assert (width, height) == (1280, 4200)
    assert shot.stat().st_size > 40_000, "the screenshot looks blank"
    keep = os.environ.get("AIDFLOW_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
