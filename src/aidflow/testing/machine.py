"""A Hypothesis state machine that drives random convention lifecycles through aidflow.

Use it to test your own clawback policy against aidflow's invariants::

    from aidflow.testing.machine import ConventionLifecycleMachine

    class MyPolicyLifecycle(ConventionLifecycleMachine):
        policy = MyPolicy()          # anything with name, version and assess(facts, as_of)

    TestMyPolicyLifecycle = MyPolicyLifecycle.TestCase

Each run submits, awards and signs one convention on an in-memory store, then
applies a random sequence of payments, monitoring facts, Region decisions,
assessments and repayments. After every step it checks that:

* the total paid never exceeds the award, nor the repaid total the paid one;
* every assessment's total due lies in ``[0, paid − repaid]`` as of its date,
  and is zero when no breach is established;
* a naive reference model (sums kept by the machine) agrees with the aggregate;
* no payment is accepted once a breach is established;
* replaying the stored events gives the same state (nothing lives outside events).

Refused commands are part of the game: they must raise a named
:class:`~aidflow.domain.errors.AidflowError` and record nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aidflow.application.service import Aidflow
from aidflow.domain.clawback import DEFAULT_POLICY, ClawbackPolicy
from aidflow.domain.convention import Convention, ConventionStatus
from aidflow.domain.errors import AidflowError
from aidflow.domain.values import Money

REFERENCE = "MACHINE-0001"
NUMBER = "CONV-MACHINE-0001"
AWARD = Decimal("250000.00")
SIGNED_ON = date(2024, 4, 2)
HORIZON_DAYS = 365 * 9

_days = st.integers(min_value=0, max_value=HORIZON_DAYS)
PROGRAMME_DAYS = (date(2025, 12, 31) - SIGNED_ON).days
_pay_days = st.one_of(st.integers(min_value=0, max_value=PROGRAMME_DAYS), _days)
"""Mostly within the programme, when the Region pays; sometimes any day (often refused)."""
_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(120000), places=2)


class ConventionLifecycleMachine(RuleBasedStateMachine):
    """Random lifecycles of one convention (see the module docstring)."""

    policy: ClassVar[ClawbackPolicy] = DEFAULT_POLICY
    store: ClassVar[str] = "memory:"

    def __init__(self) -> None:
        super().__init__()
        self.app = Aidflow(self.store, clawback_policy=self.policy)
        self.app.submit({
            "reference": REFERENCE, "scheme": "CEA", "on": "2024-01-15", "requested": str(AWARD),
            "beneficiary": {"kind": "company", "siren": "732829320", "name": "Atelier Garonne SAS",
                            "staff": 42, "turnover": "6200000.00", "balance_sheet": "3900000.00"},
            "site": {"siret": "73282932000074", "commune": "Toulouse", "department": "31"},
            "programme": {"start": "2024-03-01", "end": "2025-12-31", "investment": "900000.00",
                          "jobs": 12},
        })
        self.app.self_diagnosis(REFERENCE, {"on": "2024-01-20", "module": "full", "scores": {
            "impact_strategy": 55, "social_impact": 60, "ecological_impact": 70, "power_sharing": 50,
            "value_sharing": 50}})
        self.app.check_eligibility(REFERENCE, {
            "on": "2024-02-01", "tax_and_social_compliant": True, "equity": "800000.00",
            "court_proceedings": False, "real_estate": False,
            "commitments": ["environmental_footprint", "non_discrimination", "decent_work",
                            "career_development"],
            "environmental_measures": "Heat recovery on the new kiln line"})
        self.app.award(REFERENCE, {"on": "2024-03-14", "amount": str(AWARD), "grant": "200000.00",
                                   "advance": "50000.00", "body": "commission permanente",
                                   "deliberation": "CP/2024-03/12.04"})
        self.app.sign(REFERENCE, {"on": SIGNED_ON.isoformat(), "convention": NUMBER})
        self.model_paid = Decimal("0.00")
        self.model_repaid = Decimal("0.00")
        self.payments = 0
        self.refs = 0

    def teardown(self) -> None:
        self.app.close()

    # ------------------------------------------------------------------ helpers

    def _day(self, offset: int) -> str:
        return (SIGNED_ON + timedelta(days=offset)).isoformat()

    def _attempt(self, verb: str, *args: Any) -> bool:  # noqa: ANN401 - any verb argument
        """Run a verb; a refusal must be a named error that records nothing."""
        before = self.app.event_count()
        try:
            getattr(self.app, verb)(REFERENCE, *args)
        except AidflowError:
            assert self.app.event_count() == before, f"{verb} was refused yet recorded events"  # noqa: S101
            return False
        return True

    @property
    def convention(self) -> Convention:
        return self.app.convention(NUMBER)

    # -------------------------------------------------------------------- rules

    @rule(offset=_pay_days, amount=_amounts)
    def pay(self, offset: int, amount: Decimal) -> None:
        in_breach = self.convention.status is ConventionStatus.IN_BREACH
        self.payments += 1
        step = {"on": self._day(offset), "ref": f"P{self.payments}", "amount": str(amount),
                "kind": "interim"}
        accepted = self._attempt("pay", step)
        if accepted:
            assert not in_breach, "a payment was accepted after an established breach"  # noqa: S101
            self.model_paid += amount

    @rule(offset=_days, jobs=st.integers(min_value=0, max_value=20))
    def declare_headcount(self, offset: int, jobs: int) -> None:
        self._attempt("record_fact", {"on": self._day(offset), "do": "declare_headcount", "jobs": jobs})

    @rule(offset=_days, value=st.decimals(min_value=Decimal(1), max_value=Decimal(900000), places=2))
    def dispose_investment(self, offset: int, value: Decimal) -> None:
        self._attempt("record_fact", {"on": self._day(offset), "do": "dispose_investment",
                                      "value": str(value)})

    @rule(offset=_days, do=st.sampled_from(["cease_activity", "change_control", "relocate"]))
    def other_fact(self, offset: int, do: str) -> None:
        self._attempt("record_fact", {"on": self._day(offset), "do": do})

    @rule(offset=_days, obligation=st.sampled_from(["O4", "O5"]), waive=st.booleans(), amount=_amounts)
    def decide(self, offset: int, obligation: str, waive: bool, amount: Decimal) -> None:
        step: dict[str, Any] = {"on": self._day(offset), "do": "decide_breach", "obligation": obligation}
        step.update({"waive": True} if waive else {"amount": str(amount)})
        self._attempt("decide_breach", step)

    @rule(offset=_days)
    def assess(self, offset: int) -> None:
        self._attempt("assess_clawback", {"on": self._day(offset)})

    @precondition(lambda self: self.model_paid > self.model_repaid)
    @rule(offset=_days, amount=_amounts)
    def repay(self, offset: int, amount: Decimal) -> None:
        self.refs += 1
        if self._attempt("repay", {"on": self._day(offset), "ref": f"V{self.refs}", "amount": str(amount)}):
            self.model_repaid += amount

    # --------------------------------------------------------------- invariants

    @invariant()
    def totals_agree_with_the_reference_model(self) -> None:
        convention = self.convention
        assert convention.paid == Money(self.model_paid)  # noqa: S101
        assert convention.repaid == Money(self.model_repaid)  # noqa: S101
        assert convention.paid <= convention.awarded  # noqa: S101
        assert convention.repaid <= convention.paid  # noqa: S101

    @invariant()
    def assessments_stay_within_paid_minus_repaid(self) -> None:
        for assessment in self.convention.assessments:
            assert assessment.policy == self.policy.name  # noqa: S101
            assert Money.zero() <= assessment.total_due  # noqa: S101
            assert assessment.total_due.amount <= assessment.paid.amount - assessment.repaid.amount or (  # noqa: S101
                assessment.total_due.is_zero()
            )
            if not assessment.in_breach:
                assert assessment.total_due.is_zero()  # noqa: S101

    @invariant()
    def replay_gives_the_same_state(self) -> None:
        stored = cast("list[Convention.Event]", list(self.app.events.get(self.convention.id)))
        replayed: Convention | None = None
        for domain_event in stored:
            replayed = cast("Convention", domain_event.mutate(replayed))
        assert replayed is not None  # noqa: S101
        current = self.convention
        assert replayed.status == current.status  # noqa: S101
        assert replayed.paid == current.paid  # noqa: S101
        assert [a.to_dict() for a in replayed.assessments] == [a.to_dict() for a in current.assessments]  # noqa: S101
