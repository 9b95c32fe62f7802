"""Several processes acting on the same dossier at once, on a SQLite file and on PostgreSQL.

Racers run in separate processes (``spawn``). In *lockstep* runs every racer loads its
aggregates and checks the rules, then waits at a barrier placed just before its save, so
all of them save on the same aggregate versions: exactly one save can win, and the others
must get :class:`~aidflow.application.errors.ConcurrentUpdate` (which they retry). The
checks then read the store back: nothing lost, nothing recorded twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from helpers import (
    CONVENTION,
    DOSSIER_EXAMPLE,
    REFERENCE,
    another_company,
    award_step,
    make_eligible,
    pay_step,
    sign_step,
    submit_command,
    withdraw_step,
)
from reliability.rel_support import Outcome, Task, in_child, record_figure, run_racers, start_at_once

pytestmark = pytest.mark.slow


def _figures(outcomes: list[Outcome], writers: int) -> None:
    record_figure("concurrent writers", writers, how="max")
    record_figure("racing commands", len(outcomes))
    record_figure("conflicts detected", sum(o.conflicts for o in outcomes))


def _by_round(outcomes: list[Outcome]) -> dict[int, list[Outcome]]:
    rounds: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        rounds.setdefault(outcome.index, []).append(outcome)
    return rounds


def _event_names(app: Aidflow, reference: str) -> list[str]:
    return [entry.event for entry in app.history(reference)]


def test_award_and_withdraw_race_exactly_one_wins(shared_store: str) -> None:
    rounds = 5
    app = Aidflow(store=shared_store)
    references = [f"RACE-{i:02d}" for i in range(rounds)]
    for i, reference in enumerate(references):
        app.submit(another_company(i, submit_command(reference=reference)))
        make_eligible(app, reference)
    before = app.event_count()

    outcomes = run_racers(shared_store, {
        "awarder": [Task("award", r, award_step()) for r in references],
        "withdrawer": [Task("withdraw", r, withdraw_step(on="2024-03-20")) for r in references],
    })

    expected_events = 0
    for index, pair in sorted(_by_round(outcomes).items()):
        reference = references[index]
        winners = [o for o in pair if o.result == "ok"]
        losers = [o for o in pair if o.result != "ok"]
        assert len(winners) == 1, pair
        (winner,), (loser,) = winners, losers
        # The loser saved on the same version, was told to retry, and its retry met the new state.
        assert winner.conflicts == 0
        assert loser.conflicts == 1, loser
        assert loser.error == "InvalidTransition", loser
        assert reference in loser.message
        status = app.dossier(reference).status
        names = _event_names(app, reference)
        if winner.verb == "award":
            assert status == "awarded"
            assert names.count("Awarded") == 1
            assert "Withdrawn" not in names
            expected_events += 2  # Awarded + the company's de minimis ledger entry
        else:
            assert status == "withdrawn"
            assert names.count("Withdrawn") == 1
            assert "Awarded" not in names
            expected_events += 1
    assert app.event_count() == before + expected_events
    record_figure("lost or duplicated events", abs(app.event_count() - before - expected_events))
    _figures(outcomes, writers=2)
    app.close()


def test_de_minimis_cap_holds_when_two_awards_race_on_one_company(shared_store: str) -> None:
    """Two applications of one company, 250 000 € each: together over the 300 000 € de minimis cap."""
    app = Aidflow(store=shared_store)
    first, second = REFERENCE, "2024-CEA-0043"
    for reference in (first, second):
        app.submit(submit_command(reference=reference))
        make_eligible(app, reference)

    outcomes = run_racers(shared_store, {
        "first": [Task("award", first, award_step())],
        "second": [Task("award", second, award_step(deliberation="CP/2024-03/12.05"))],
    })

    winners = [o for o in outcomes if o.result == "ok"]
    (loser,) = [o for o in outcomes if o.result != "ok"]
    assert len(winners) == 1
    assert loser.conflicts == 1
    assert loser.error == "CeilingExceeded"
    assert "DE-MINIMIS" in loser.message
    awarded = [app.dossier(r).awarded for r in (first, second)]
    assert sorted(str(a) for a in awarded) == ["250000.00", "None"]
    company = app.company(submit_command()["beneficiary"]["siren"])
    assert company is not None
    assert len(company.aids_granted) == 1
    _figures(outcomes, writers=2)
    app.close()


def _signed_second_dossier(app: Aidflow) -> tuple[str, str]:
    reference, convention = "2024-CEA-0043", "CONV-2024-0043"
    app.submit(another_company(7, submit_command(reference=reference)))
    make_eligible(app, reference)
    app.award(reference, award_step())
    app.sign(reference, sign_step(convention=convention))
    return reference, convention


def test_two_payments_race_both_recorded_once(shared_store: str) -> None:
    app = Aidflow(store=shared_store)
    _, convention = _signed_second_dossier(app)
    before = app.event_count()

    outcomes = run_racers(shared_store, {
        "clerk-a": [Task("pay", convention, pay_step(ref="PA", amount="60000.00"))],
        "clerk-b": [Task("pay", convention, pay_step(ref="PB", amount="15000.00"))],
    })

    assert sorted(o.conflicts for o in outcomes) == [0, 1]
    assert all(o.result == "ok" and o.value is True for o in outcomes), outcomes
    view = app.dossier(convention)
    assert str(view.paid) == "75000.00"
    assert sorted(p.ref for p in view.payments) == ["PA", "PB"]
    assert app.event_count() == before + 2
    _figures(outcomes, writers=2)
    app.close()


def _money_movements(convention: str, reference: str) -> list[Task]:
    return [
        Task("pay", convention, pay_step(ref="P2", amount="10000.00", kind="interim", on="2024-05-02")),
        Task("issue_recovery_order", reference,
             {"on": "2027-07-01", "do": "issue_recovery_order", "ref": "T-2027-1", "amount": "18750.00"}),
        Task("repay", reference, {"on": "2027-08-01", "do": "repay", "ref": "VIR-88", "amount": "18750.00"}),
        Task("record_fact", reference, {"on": "2028-03-01", "do": "declare_headcount", "jobs": 8}),
    ]


def _resend(store_url: str, tasks: list[Task]) -> dict[str, Any]:
    """A restarted process sends the same money movements again."""
    app = Aidflow(store=store_url)
    try:
        before = app.event_count()
        values = [getattr(app, t.verb)(t.reference, t.payload) for t in tasks]
        return {"values": values, "recorded": app.event_count() - before}
    finally:
        app.close()


def test_money_movements_are_idempotent_across_processes_and_restarts(shared_store: str) -> None:
    """The same payment, recovery order, repayment and declaration sent by two processes at once."""
    app = Aidflow(store=shared_store)
    run_dossier(app, DOSSIER_EXAMPLE)  # ends in breach, 18 750 € due
    _, second_convention = _signed_second_dossier(app)
    app.pay(second_convention, pay_step())
    tasks = _money_movements(second_convention, CONVENTION)
    before = app.event_count()

    outcomes = run_racers(shared_store, {"clerk-a": tasks, "clerk-b": tasks})

    for index, pair in sorted(_by_round(outcomes).items()):
        assert all(o.result == "ok" for o in pair), pair
        assert sorted(o.value for o in pair) == [False, True], (tasks[index].verb, pair)
        (loser,) = [o for o in pair if o.value is False]
        assert loser.conflicts == 1, loser
    assert app.event_count() == before + len(tasks)

    replay = in_child(_resend, shared_store, tasks)

    assert replay == {"values": [False] * len(tasks), "recorded": 0}
    assert app.event_count() == before + len(tasks)
    view = app.dossier(CONVENTION)
    assert view.recovery is not None
    assert str(view.recovery["ordered"]) == "18750.00"
    assert str(view.recovery["repaid"]) == "18750.00"
    assert [p.ref for p in app.dossier(second_convention).payments] == ["P1", "P2"]
    record_figure("idempotent replays", len(tasks) * 2)
    record_figure("lost or duplicated events", abs(app.event_count() - before - len(tasks)))
    _figures(outcomes, writers=2)
    app.close()


def test_many_writers_on_one_convention_lose_nothing(shared_store: str) -> None:
    """Free-running writers paying into one convention, retrying on conflicts."""
    writers, payments = 6, 12
    app = Aidflow(store=shared_store)
    _, convention = _signed_second_dossier(app)
    before = app.event_count()
    plans = {
        f"writer-{w}": [
            Task("pay", convention, pay_step(ref=f"W{w}-{p:02d}", amount="10.00", kind="interim"))
            for p in range(payments)
        ] + [Task("pay", convention, pay_step(ref=f"W{w}-00", amount="10.00", kind="interim"))]
        for w in range(writers)
    }

    outcomes = run_racers(shared_store, plans, lockstep=False)

    assert Counter(o.result for o in outcomes) == {"ok": writers * (payments + 1)}
    assert Counter(o.value for o in outcomes) == {True: writers * payments, False: writers}
    view = app.dossier(convention)
    assert len(view.payments) == writers * payments
    assert str(view.paid) == f"{writers * payments * 10}.00"
    assert app.event_count() == before + writers * payments
    versions = [e.version for e in app.history(convention) if e.aggregate == "convention"]
    assert versions == list(range(1, len(versions) + 1))
    record_figure("lost or duplicated events", abs(app.event_count() - before - writers * payments))
    record_figure("idempotent replays", writers)
    _figures(outcomes, writers=writers)
    app.close()


def test_many_processes_open_a_fresh_store_at_once(shared_store: str) -> None:
    """Creating the tables (and eventsourcing's PostgreSQL function) races when processes start together."""
    results = start_at_once(shared_store, 8)

    assert [r for r in results if r[0] != "ok"] == []
    record_figure("concurrent writers", 8, how="max")
