"""The public lifecycle machine, run against aidflow's own default policy (and a stricter one)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from attrs import evolve, frozen
from hypothesis import settings

from aidflow.domain.clawback import DEFAULT_POLICY, ClawbackAssessment, ClawbackFacts
from aidflow.testing.machine import ConventionLifecycleMachine


class DefaultPolicyLifecycle(ConventionLifecycleMachine):
    pass


DefaultPolicyLifecycle.TestCase.settings = settings(
    DefaultPolicyLifecycle.TestCase.settings, max_examples=40, stateful_step_count=25
)
TestDefaultPolicyLifecycle = DefaultPolicyLifecycle.TestCase


@frozen
class HalfPolicy:
    """A user's policy: half of what the default finds due (an example of plugging one in)."""

    name: str = "region-half"
    version: str = "1"

    def assess(self, facts: ClawbackFacts, as_of: date) -> ClawbackAssessment:
        base = DEFAULT_POLICY.assess(facts, as_of)
        return evolve(base, policy=self.name, policy_version=self.version,
                      total_due=base.total_due.times(Decimal("0.5")))


class HalfPolicyLifecycle(ConventionLifecycleMachine):
    policy = HalfPolicy()


HalfPolicyLifecycle.TestCase.settings = settings(
    HalfPolicyLifecycle.TestCase.settings, max_examples=20, stateful_step_count=20
)
TestHalfPolicyLifecycle = HalfPolicyLifecycle.TestCase
