# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Random amendment sequences: windows always follow the terms in force; the history replays.

Each example draws a sequence of amendment attempts (and maybe a completion) against a
signed convention, and a deliberately naive reference model that predicts which attempts
the rules accept (ADR 0007). After every attempt:

* the convention accepts exactly what the model accepts;
* its windows equal ``obligation_windows`` of the model's terms, now and on any day;
* O3-O5 always start on the ORIGINAL signature date;
* replaying the recorded events gives the same terms, history and windows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from attrs import frozen
from hypothesis import event, given
from hypothesis import strategies as st

from aidflow.domain.convention import Convention, effective_programme_end
from aidflow.domain.errors import AidflowError
from aidflow.domain.obligations import ConventionTerms, ObligationId, obligation_windows
from aidflow.domain.values import (
    AwardSplit,
    Beneficiary,
    CompanyFigures,
    CompanySize,
    Money,
    PaymentKind,
    Programme,
    Site,
)
from aidflow.testing.strategies import money

SIGNED = date(2024, 4, 2)
START = date(2024, 3, 1)
PAID = Money.of("75000.00")


def signed(size: CompanySize) -> Convention:
    conv = Convention(
        number="CONV-P", application_reference="REF-P", scheme_code="CEA",
        beneficiary=Beneficiary(kind="company", name="Atelier", siren="732829320",
                                figures=CompanyFigures(42, Money.of("6200000.00"), Money.of("3900000.00"))),
        site=Site("Toulouse", "31", "73282932000074"),
        programme=Programme(START, date(2025, 12, 31), Money.of("900000.00"), 12),
        award=AwardSplit(grant=Money.of("250000.00")),
        size_at_signature=size, innovation=True, signed_on=SIGNED,
    )
    conv.pay("P1", PAID, PaymentKind.ADVANCE, date(2024, 4, 15))
    return conv


@frozen
class Attempt:
    number: int
    day: int
    end: int | None
    jobs: int | None
    investment: Money | None
    amount: Money | None


attempts = st.builds(
    Attempt,
    number=st.integers(0, 8),
    day=st.integers(-30, 1500),
    end=st.none() | st.integers(-800, 1500),
    jobs=st.none() | st.integers(0, 30),
    investment=st.none() | money("0.00", "2000000.00"),
    amount=st.none() | money("1.00", "400000.00"),
)


class Model:
    """The naive model: the original terms plus accepted amendments, replayed by hand."""

    def __init__(self, size: CompanySize) -> None:
        self.size = size
        self.end = date(2025, 12, 31)
        self.jobs = 12
        self.investment = Money.of("900000.00")
        self.award = Money.of("250000.00")
        self.last: tuple[int, date] | None = None
        self.completed: date | None = None
        self.accepted: list[tuple[date, date | None, date, int, Money]] = []
        """(signed on, end set by it, planned end after, jobs after, investment after)."""

    def accepts(self, a: Attempt, on: date, end: date | None) -> bool:
        if a.number < 1 or on < SIGNED:
            return False
        if self.last is not None and (a.number <= self.last[0] or on < self.last[1]):
            return False
        if end is not None and end < START:
            return False
        if a.amount is not None and a.amount < PAID:
            return False
        changed = (
            (end is not None and end != self.end)
            or (a.jobs is not None and a.jobs != self.jobs)
            or (a.investment is not None and a.investment != self.investment)
            or (a.amount is not None and a.amount != self.award)
        )
        return changed or self._after(a, on, end) != self.terms()

    def _after(self, a: Attempt, on: date, end: date | None) -> ConventionTerms:
        planned = end or self.end
        ends = [(s, e) for s, e, *_ in self.accepted] + [(on, end)]
        return self._terms(planned, a.jobs if a.jobs is not None else self.jobs,
                           a.investment or self.investment, ends)

    def apply(self, a: Attempt, on: date, end: date | None) -> None:
        self.end = end or self.end
        self.jobs = a.jobs if a.jobs is not None else self.jobs
        self.investment = a.investment or self.investment
        self.award = a.amount or self.award
        self.last = (a.number, on)
        self.accepted.append((on, end, self.end, self.jobs, self.investment))

    def _terms(self, planned: date, jobs: int, investment: Money,
               ends: list[tuple[date, date | None]]) -> ConventionTerms:
        programme_end = planned
        if self.completed is not None:
            later = any(e is not None and s > self.completed for s, e in ends)
            programme_end = planned if later else self.completed
        return ConventionTerms(SIGNED, self.size, START, programme_end, jobs, investment, innovation=True)

    def terms(self) -> ConventionTerms:
        return self._terms(self.end, self.jobs, self.investment, [(s, e) for s, e, *_ in self.accepted])

    def terms_on(self, day: date) -> ConventionTerms:
        in_force = [row for row in self.accepted if row[0] <= day]
        if not in_force:
            return self._terms(date(2025, 12, 31), 12, Money.of("900000.00"), [])
        _, _, planned, jobs, investment = in_force[-1]
        return self._terms(planned, jobs, investment, [(s, e) for s, e, *_ in in_force])


@given(
    size=st.sampled_from(list(CompanySize)),
    sequence=st.lists(attempts, max_size=8),
    completion=st.none() | st.tuples(st.integers(0, 8), st.integers(0, 1000)),
    probes=st.lists(st.integers(-10, 4000), min_size=1, max_size=4),
)
def test_windows_follow_the_terms_in_force_and_the_history_replays(size, sequence, completion, probes):
    conv = signed(size)
    model = Model(size)
    events = list(conv.collect_events())
    for index, attempt in enumerate(sequence):
        if completion is not None and completion[0] == index and conv.completion is None:
            done = START + timedelta(days=completion[1])
            conv.complete_programme(done)
            model.completed = done
        on = SIGNED + timedelta(days=attempt.day)
        end = None if attempt.end is None else date(2025, 12, 31) + timedelta(days=attempt.end)
        expected = model.accepts(attempt, on, end)
        try:
            conv.amend(
                attempt.number, on, "random amendment", programme_end=end, jobs=attempt.jobs,
                investment=attempt.investment,
                award=None if attempt.amount is None else AwardSplit(grant=attempt.amount),
            )
        except AidflowError:
            assert not expected, attempt
            event("refused")
        else:
            assert expected, attempt
            event("accepted")
            model.apply(attempt, on, end)
        events.extend(conv.collect_events())

        assert conv.terms == model.terms()
        assert conv.windows == obligation_windows(model.terms())
        assert conv.awarded == model.award
        for offset in probes:
            day = SIGNED + timedelta(days=offset)
            assert conv.terms_on(day) == model.terms_on(day)
            assert conv.windows_on(day) == obligation_windows(model.terms_on(day))
        for w in conv.windows:
            if w.id in (ObligationId.O3, ObligationId.O4, ObligationId.O5, ObligationId.O7):
                assert w.start == SIGNED

    replayed: Convention | None = None
    for domain_event in events:
        replayed = cast("Convention", cast("Any", domain_event).mutate(replayed))
    assert replayed is not None
    assert replayed.terms == conv.terms
    assert replayed.terms_history == conv.terms_history
    assert replayed.amendments == conv.amendments
    assert replayed.windows == conv.windows
    assert replayed.terms_in_force == conv.terms_in_force


@given(
    planned=st.dates(date(2024, 3, 1), date(2030, 12, 31)),
    completed=st.none() | st.dates(date(2024, 3, 1), date(2030, 12, 31)),
    signed_on=st.lists(st.dates(date(2024, 4, 2), date(2031, 12, 31)), max_size=4),
)
def test_the_completion_wins_unless_an_extension_was_signed_strictly_after_it(planned, completed, signed_on):
    from aidflow.domain.convention import Amendment, Completion  # noqa: PLC0415 - local to this law

    amendments = [Amendment(i + 1, d, "x", programme_end=planned) for i, d in enumerate(sorted(signed_on))]
    end = effective_programme_end(planned, None if completed is None else Completion(completed), amendments)
    if completed is None or not any(d > completed for d in signed_on):
        assert end == (planned if completed is None else completed)
    else:
        assert end == planned
