"""The portfolio read model agrees with the aggregates, counts each event once, and resumes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from typer.testing import CliRunner

from aidflow.adapters.demo import demo_dossiers
from aidflow.adapters.portfolio import Portfolio, PortfolioProjection, PortfolioView, open_view
from aidflow.adapters.portfolio_cli import portfolio_app
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.aid_application import ApplicationStatus
from aidflow.domain.convention import ConventionStatus
from aidflow.domain.obligations import DeclarationState

DEMO = list(demo_dossiers())
ON = date(2026, 11, 15)


def record(app: Aidflow, dossiers: list[dict[str, Any]]) -> None:
    for dossier in dossiers:
        run_dossier(app, dossier)


def expected_figures(app: Aidflow, on: date) -> dict[str, Any]:
    """The portfolio computed from the aggregates themselves."""
    statuses: Counter[str] = Counter()
    awarded = Decimal(0)
    for application in app.applications():
        if application.status is not ApplicationStatus.SIGNED:
            statuses[application.status.value] += 1
            if application.award is not None:
                awarded += application.award.amount.amount
    paid = repaid = due = Decimal(0)
    breaches = overdue = at_risk = 0
    for convention in app.conventions():
        statuses[convention.status.value] += 1
        awarded += convention.awarded.amount
        paid += convention.paid.amount
        repaid += convention.repaid.amount
        latest = convention.latest_assessment
        due += latest.total_due.amount if latest else Decimal(0)
        open_ = 0
        if latest is not None and convention.status is not ConventionStatus.CLOSED:
            open_ = sum(1 for b in latest.breaches if b.established or b.pending)
        late = 0
        if convention.status is not ConventionStatus.CLOSED:
            late = sum(1 for d in convention.declarations(on) if d.state is DeclarationState.OVERDUE)
        breaches += open_
        overdue += late
        at_risk += 1 if open_ or late else 0
    return {"statuses": dict(statuses), "awarded": awarded, "paid": paid, "repaid": repaid,
            "clawback_due": due, "open_breaches": breaches, "overdue": overdue, "at_risk": at_risk}


def portfolio_figures(portfolio: Portfolio, on: date) -> dict[str, Any]:
    by_status = portfolio.summary(["status"], on)
    total = portfolio.summary([], on)[0]
    return {"statuses": {line.keys["status"]: line.dossiers for line in by_status},
            "awarded": total.awarded, "paid": total.paid, "repaid": total.repaid,
            "clawback_due": total.clawback_due, "open_breaches": total.open_breaches,
            "overdue": total.overdue_declarations, "at_risk": total.at_risk}


def test_the_portfolio_agrees_with_the_aggregates(app):
    record(app, DEMO)
    portfolio = Portfolio(app)
    assert portfolio.catch_up() == app.event_count()
    assert portfolio_figures(portfolio, ON) == expected_figures(app, ON)
    lines = portfolio.summary(["scheme", "call", "size", "department"], ON)
    assert sum(line.dossiers for line in lines) == len(DEMO)


def test_catching_up_again_counts_nothing_twice(app):
    record(app, DEMO[:20])
    portfolio = Portfolio(app)
    portfolio.catch_up()
    assert portfolio.catch_up() == 0
    record(app, DEMO[20:])
    portfolio.catch_up()
    assert portfolio_figures(portfolio, ON) == expected_figures(app, ON)
    fresh = portfolio_figures(portfolio, ON)
    portfolio.rebuild()
    assert portfolio_figures(portfolio, ON) == fresh


class CrashingView:
    """A view that fails on its n-th write, as a process killed mid-catch-up would."""

    def __init__(self, view: PortfolioView, fail_on: int) -> None:
        self.view = view
        self.writes = 0
        self.fail_on = fail_on

    def write(self, rows: Any, tracking: Tracking) -> None:
        self.writes += 1
        if self.writes == self.fail_on:
            raise KeyboardInterrupt
        self.view.write(rows, tracking)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)


def test_a_catch_up_killed_midway_resumes_where_it_stopped(app):
    record(app, DEMO)
    view = open_view(app)
    crashing = CrashingView(view, fail_on=3)
    with pytest.raises(KeyboardInterrupt):
        PortfolioProjection(crashing, app).catch_up(page_size=40)  # type: ignore[arg-type]
    assert view.max_tracking_id(app.name) == 80
    portfolio = Portfolio(app)
    assert portfolio.catch_up() == app.event_count() - 80
    assert portfolio_figures(portfolio, ON) == expected_figures(app, ON)


def test_two_processes_catching_up_at_once_count_each_event_once(app, store_kind):
    if store_kind == "memory":
        pytest.skip("the memory store's read model belongs to one application object")
    record(app, DEMO)
    first, second = Portfolio(app), Portfolio(app)
    first.projection.catch_up(page_size=100)
    second.projection._cache.clear()
    second.catch_up()
    assert portfolio_figures(second, ON) == expected_figures(app, ON)


def test_a_page_already_committed_by_another_process_is_skipped(tmp_path):
    app = Aidflow(store=f"sqlite:///{tmp_path / 'two.sqlite'}")
    record(app, DEMO[:10])
    stale = PortfolioProjection(open_view(app), app)
    Portfolio(app).catch_up()
    stale.portfolio = _StaleTracking(stale.portfolio)  # reads position 0, as a slower process would
    assert stale.catch_up() == 0
    assert portfolio_figures(Portfolio(app), ON) == expected_figures(app, ON)


class _StaleTracking:
    def __init__(self, view: PortfolioView) -> None:
        self.view = view
        self.first = True

    def max_tracking_id(self, name: str) -> int | None:
        if self.first:
            self.first = False
            return 0
        return self.view.max_tracking_id(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)


def test_process_event_handles_one_event_with_its_tracking(tmp_path):
    app = Aidflow(store=f"sqlite:///{tmp_path / 'one.sqlite'}")
    record(app, DEMO[:1])
    projection = PortfolioProjection(open_view(app), app)
    for notification in app.recorder.select_notifications(start=1, limit=100):
        event = app.mapper.to_domain_event(notification)
        projection.process_event(event, Tracking(app.name, notification.id))
    assert open_view(app).max_tracking_id(app.name) == app.event_count()
    assert portfolio_figures(Portfolio(app), ON) == expected_figures(app, ON)


def test_clawback_previews_from_the_read_model_equal_the_application_s(app):
    record(app, DEMO)
    portfolio = Portfolio(app)
    portfolio.catch_up()
    previews = dict(portfolio.preview_clawback(ON))
    assert len(previews) == sum(1 for _ in app.conventions())
    for number, assessment in previews.items():
        facts = app.convention(number).clawback_facts(ON)
        assert assessment == app.clawback_policy.assess(facts, ON)


def test_money_per_year_adds_up_to_the_totals(app):
    record(app, DEMO)
    portfolio = Portfolio(app)
    portfolio.catch_up()
    years = portfolio.flows()
    figures = expected_figures(app, ON)
    assert sum(y.paid for y in years) == figures["paid"]
    assert sum(y.clawed_back for y in years) == figures["repaid"]
    committed = sum(a.award.amount.amount for a in app.applications() if a.award is not None)
    assert sum(y.committed for y in years) == committed


def test_the_portfolio_command_prints_exports_and_draws(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    record(Aidflow(store=store), DEMO[:15])
    runner = CliRunner()
    shown = runner.invoke(portfolio_app, ["portfolio", "--store", store, "--on", "2026-11-15"])
    assert shown.exit_code == 0, shown.output
    assert "aidflow portfolio" in shown.output
    exported = runner.invoke(
        portfolio_app, ["portfolio", "--store", store, "--by", "scheme,size", "--csv", "-"])
    assert exported.output.splitlines()[0] == (
        "scheme,size,dossiers,awarded,paid,at_risk,open_breaches,overdue_declarations,clawback_due,repaid")
    rebuilt = runner.invoke(portfolio_app, ["portfolio", "--store", store, "--json", "--rebuild"])
    data = json.loads(rebuilt.output)
    assert sum(line["dossiers"] for line in data["lines"]) == 15


def test_the_chart_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    store = f"sqlite:///{tmp_path / 'chart.sqlite'}"
    record(Aidflow(store=store), DEMO[:10])
    chart = tmp_path / "chart.png"
    result = CliRunner().invoke(portfolio_app, ["portfolio", "--store", store, "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_an_unknown_dimension_is_refused(tmp_path):
    result = CliRunner().invoke(portfolio_app, ["portfolio", "--store", "memory:", "--by", "colour"])
    assert result.exit_code != 0
    assert "colour" in str(result.exception)
