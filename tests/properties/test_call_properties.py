# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Properties of calls, by a model-based state machine (STYLE G13).

Random sequences of submit / amend / score / retain / reject / withdraw run against the
application (in memory) and a naive model. In every reachable state:

- the retained total never exceeds the call's envelope, nor a wave's total its envelope;
- a candidacy submitted after its wave's deadline is never recorded;
- every retained project's funding rate (granted ÷ budget, derived) is within its
  strand's bounds, its granted amount at most its request, and its shares add up;
- a refused command records nothing; the call and its candidacies agree.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from aidflow.application.calls import CandidacyNotFound
from aidflow.domain.call import Call, DeadlinePassed, EnvelopeExceeded, RateOutOfBounds, rate
from aidflow.domain.candidacy import CandidacyStatus
from aidflow.domain.errors import AidflowError
from aidflow.domain.values import Money
from aidflow.testing import strategies as ast
from calls_data import CALL, App, call_command, lab, sme, terms

WAVES = {"W1": (date(2024, 1, 15), date(2024, 3, 31)), "W2": (date(2024, 4, 1), date(2024, 9, 30))}
ENVELOPE = Money.of("400000.00")
W1_ENVELOPE = Money.of("200000.00")
MIN_RATE, MAX_RATE = Decimal("0.10"), Decimal("0.50")

offsets = st.integers(min_value=-20, max_value=80)
"""Days from a wave's start (submissions) or deadline (decisions): mostly valid, some early or late."""
budgets = st.integers(min_value=50_000, max_value=800_000).map(lambda n: Money(Decimal(n)))
fractions = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("0.60"), places=2)


class CallMachine(RuleBasedStateMachine):
    """Drives one call through random candidacy and selection commands."""

    projects = Bundle("projects")

    def __init__(self) -> None:
        super().__init__()
        self.app = App(store="memory:")
        self.counter = 0
        self.model_retained: dict[str, Money] = {}

    @initialize()
    def publish(self) -> None:
        waves = call_command()["waves"]
        waves[0]["envelope"] = str(W1_ENVELOPE)
        self.app.publish_call(call_command(consortium={}, priorities=[], envelope=str(ENVELOPE), waves=waves))

    def teardown(self) -> None:
        self.app.close()

    # ------------------------------------------------------------ helpers

    def _after_deadline(self, project: str, offset: int) -> date:
        """A decision date ``offset`` days after the project's wave deadline."""
        wave = self.app.candidacy(project).wave
        assert wave is not None
        return WAVES[wave][1] + timedelta(days=offset)

    def _attempt(self, action: Any) -> bool:
        """Run a command; on a refusal, check that nothing was recorded."""
        before = self.app.event_count()
        try:
            action()
        except AidflowError:
            assert self.app.event_count() == before
            return False
        return True

    # -------------------------------------------------------------- rules

    @rule(target=projects, wave=st.sampled_from(sorted(WAVES)), offset=st.integers(-20, 200),
          budget=budgets, fraction=fractions)
    def submit(self, wave: str, offset: int, budget: Money, fraction: Decimal) -> Any:
        on = WAVES[wave][0] + timedelta(days=offset)
        self.counter += 1
        project = f"P-{self.counter:03d}"
        requested = budget.times(fraction)
        command = {
            "project": project, "on": on.isoformat(), "wave": wave, "strand": "COLLAB", "title": "t",
            "lead": sme(budget=str(budget), requested=str(requested)), "partners": [lab()],
        }
        late = on > WAVES[wave][1]
        before = self.app.event_count()
        try:
            self.app.submit_candidacy(CALL, command)
        except DeadlinePassed:
            assert late or on < WAVES[wave][0]
            assert self.app.event_count() == before
        except AidflowError:
            assert self.app.event_count() == before
        else:
            assert not late
            return project
        try:
            self.app.candidacy(project)
        except CandidacyNotFound:
            return multiple()
        raise AssertionError(project)  # pragma: no cover - a refused candidacy was recorded

    @rule(project=projects, offset=offsets, fraction=fractions)
    def amend(self, project: str, offset: int, fraction: Decimal) -> None:
        on = self._after_deadline(project, offset - 40)
        budget = Money.of("400000.00")
        lead = sme(budget=str(budget), requested=str(budget.times(fraction)))
        self._attempt(lambda: self.app.amend_candidacy(project, {"on": on.isoformat(), "lead": lead,
                                                                 "partners": [lab()]}))

    @rule(project=projects, offset=offsets, innovation=st.integers(0, 20), impact=st.integers(0, 20))
    def score(self, project: str, offset: int, innovation: int, impact: int) -> None:
        on = self._after_deadline(project, offset)
        self._attempt(lambda: self.app.score_candidacy(project, {
            "on": on.isoformat(), "body": "jury", "scores": {"INNOVATION": innovation, "IMPACT": impact}}))

    @rule(project=projects, offset=offsets,
          fraction=st.decimals(min_value=Decimal("0.2"), max_value=Decimal("1.1"), places=2))
    def retain(self, project: str, offset: int, fraction: Decimal) -> None:
        on = self._after_deadline(project, offset)
        requested = self.app.candidacy(project).requested
        granted = requested.times(fraction)
        done = self._attempt(lambda: self.app.retain_candidacy(project, {
            "on": on.isoformat(), "body": "commission permanente", "deliberation": "CP",
            "granted": str(granted)}))
        if done:
            self.model_retained[project] = granted

    @rule(project=projects, offset=offsets, act=st.integers(0, 2))
    def reject(self, project: str, offset: int, act: int) -> None:
        if act:  # decisions that end a candidacy are drawn less often, so that retentions happen
            return
        on = self._after_deadline(project, offset)
        self._attempt(lambda: self.app.reject_candidacy(project, {
            "on": on.isoformat(), "body": "commission permanente", "deliberation": "CP",
            "reasons": ["ranked below the envelope"]}))

    @rule(project=projects, offset=offsets, act=st.integers(0, 2))
    def withdraw(self, project: str, offset: int, act: int) -> None:
        if act:
            return
        on = self._after_deadline(project, offset - 40)
        self._attempt(lambda: self.app.withdraw_candidacy(project, {"on": on.isoformat()}))

    # ---------------------------------------------------------- invariants

    @invariant()
    def retained_total_within_the_envelopes(self) -> None:
        call = self.app.call(CALL)
        assert call.retained_total <= ENVELOPE
        assert call.retained_in_wave("W1") <= W1_ENVELOPE
        assert call.retained == self.model_retained

    @invariant()
    def candidacies_respect_deadlines_and_rates(self) -> None:
        call = self.app.call(CALL)
        for project, wave in call.received.items():
            candidacy = self.app.candidacy(project)
            assert candidacy.wave == wave
            assert WAVES[wave][0] <= candidacy.submitted_on <= WAVES[wave][1]
            derived = rate(candidacy.requested, candidacy.budget)
            assert derived is not None
            assert MIN_RATE <= derived <= MAX_RATE
            if candidacy.status is CandidacyStatus.RETAINED:
                assert candidacy.selection is not None
                granted = candidacy.selection.granted
                assert call.retained[project] == granted
                assert granted <= candidacy.requested
                granted_rate = rate(granted, candidacy.budget)
                assert granted_rate is not None
                assert MIN_RATE <= granted_rate <= MAX_RATE
                assert Money.total(candidacy.selection.shares) == granted
            else:
                assert project not in call.retained


CallMachine.TestCase.settings = settings(
    CallMachine.TestCase.settings, max_examples=40, stateful_step_count=30
)
TestCallMachine = CallMachine.TestCase


# ------------------------------------------------------------ plain properties


def _call() -> Call:
    return Call(code="AAP", terms=terms(), published_on=date(2024, 1, 15))


@given(st.lists(ast.money(min_value="0.01", max_value="400000.00"), min_size=1, max_size=12))
def test_commitments_stop_exactly_at_the_envelope(amounts):
    call = _call()
    accepted = Money.zero()
    for index, amount in enumerate(amounts):
        project = f"P{index}"
        call.receive(project, "W2", date(2024, 5, 1))
        fits = accepted + amount <= call.terms.envelope
        try:
            call.commit(project, amount, date(2024, 10, 1))
        except EnvelopeExceeded:
            assert not fits
        else:
            assert fits
            accepted += amount
        assert call.retained_total == accepted <= call.terms.envelope


@given(st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31)), st.sampled_from(["W1", "W2"]))
def test_a_candidacy_is_received_only_inside_its_wave_window(day, wave):
    call = _call()
    start, deadline = call.terms.window(wave)
    try:
        call.receive("P", wave, day)
    except DeadlinePassed:
        assert not start <= day <= deadline
    else:
        assert start <= day <= deadline
        assert call.received == {"P": wave}


@given(ast.money(max_value="2000000.00"), ast.money(min_value="0.01", max_value="2000000.00"))
def test_a_rate_is_accepted_exactly_when_it_is_within_the_strand_bounds(aid, budget):
    strand = terms().strand("COLLAB")
    inside = strand.min_rate * budget.amount <= aid.amount <= strand.max_rate * budget.amount
    try:
        strand.check_rate("aid", aid, budget, "granted")
    except RateOutOfBounds:
        assert not inside
    else:
        assert inside
