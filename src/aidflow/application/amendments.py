# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Amendments (avenants) to an aid convention: the ``amend`` step and the ``AmendmentVerbs`` mixin.

DOSSIER.md step ``amend``: "number, reason, and one or more of: programme_end, amount
(+ grant/advance/loan split), site, jobs, investment — amendment (avenant) signed on
``on``; windows follow the amended terms". The rules (refusals, which programme end
counts for O1/O2, what never moves) live in :meth:`aidflow.domain.convention.Convention.amend`
and are explained in ``docs/adr/0007-amendments.md``.

``AmendmentVerbs`` adds the verbs to the ``Aidflow`` application (mix it into its bases).
It uses the ``Aidflow`` plumbing (``_convention_of``, ``_parse``, ``_commit``, ``scheme``)
and must not import :mod:`aidflow.application.service` at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from eventsourcing.domain import Aggregate
from pydantic import Field

from aidflow.application import commands as c
from aidflow.application.errors import InputError
from aidflow.application.views import View
from aidflow.domain.aid_application import AidApplication
from aidflow.domain.company import (
    Company,
    amendment_ledger_reference,
    award_ledger_reference,
    check_de_minimis_increase,
)
from aidflow.domain.convention import Amendment, Convention, TermsInForce
from aidflow.domain.errors import DomainRuleViolation, InvalidValue
from aidflow.domain.rulebook import RuleBook
from aidflow.domain.scheme import AidScheme, SchemeTerms
from aidflow.domain.values import AwardSplit, Money, Site, StateAidRegime

Input = c.Model | Mapping[str, Any]

SPLIT_PARTS = ("grant", "advance", "loan", "equity")
CHANGES = ("programme_end", "amount", "site", "jobs", "investment")


class AmendStep(c.Step):
    """An avenant signed on ``on`` (DOSSIER.md step ``amend``).

    At least one of ``programme_end``, ``amount``, ``site``, ``jobs``, ``investment`` is
    given (checked by :meth:`AmendmentVerbs.amend`, which names the step). ``grant``,
    ``advance``, ``loan`` and ``equity`` split a new ``amount`` and need it.
    """

    do: Literal["amend"] = "amend"
    number: int = Field(ge=1, le=10_000, strict=True)
    reason: c.Text
    programme_end: c.Day | None = None
    amount: c.Amount | None = None
    grant: c.Amount | None = None
    advance: c.Amount | None = None
    loan: c.Amount | None = None
    equity: c.Amount | None = None
    site: c.SiteIn | None = None
    jobs: c.Jobs | None = None
    investment: c.Amount | None = None

    def changes(self) -> tuple[str, ...]:
        """The names of the terms this step changes (may be empty: the verb refuses that)."""
        return tuple(name for name in CHANGES if getattr(self, name) is not None)


class TermsView(View):
    """Terms in force after an amendment (``amendment`` 0 = the convention as signed)."""

    amendment: int
    programme_start: date
    programme_end: date
    planned_end: date
    jobs: int
    investment: Decimal
    awarded: Decimal
    split: dict[str, Decimal]
    site: dict[str, str | None]


class AmendmentView(View):
    """One amendment with the terms before and after it."""

    number: int
    signed_on: date
    reason: str
    kinds: list[str]
    before: TermsView
    after: TermsView


class AmendmentHost(Protocol):
    """The ``Aidflow`` plumbing ``AmendmentVerbs`` uses (a mixin's self-type)."""

    def _convention_of(self, reference: str) -> Convention: ...

    def _parse(self, model: type[c.Model], data: Input, prefix: str = "") -> Any: ...  # noqa: ANN401

    def _commit(self, *aggregates: Aggregate | None) -> None: ...

    def scheme(self, code: str) -> AidScheme: ...

    def company(self, siren: str) -> Company | None: ...

    def application(self, reference: str) -> AidApplication: ...

    @property
    def rulebook(self) -> RuleBook: ...

    def _de_minimis_increase(
        self, convention: Convention, terms: SchemeTerms, award: AwardSplit, on: date
    ) -> tuple[Company, Money] | None: ...


class AmendmentVerbs:
    """Amendment verbs of the ``Aidflow`` application (ADR 0007)."""

    def amend(self: AmendmentHost, reference: str, step: Input) -> Amendment:
        """Sign an amendment on the convention of ``reference`` (application or convention number).

        A new amount is checked against the scheme's instruments and ceilings in force on
        the amendment date (``SchemeTerms.check_award``); the domain checks the rest.

        Raises:
            InputError: a malformed step, or a step that changes nothing.
            InvalidTransition: the convention is in breach, fulfilled or closed.
            DomainRuleViolation: numbers, dates or amounts the rules refuse.
        """
        cmd: AmendStep = self._parse(AmendStep, step)
        if cmd.amount is None and any(getattr(cmd, part) is not None for part in SPLIT_PARTS):
            msg = "a split (grant, advance, loan, equity) needs the new amount"
            raise InputError(msg, field="amount", value=None)
        if not cmd.changes():
            msg = f"an amendment changes at least one of {', '.join(CHANGES)}"
            raise InputError(msg, field="do", value="amend")
        convention = self._convention_of(reference)
        award = None
        ledger: tuple[Company, Money] | None = None
        if cmd.amount is not None:
            award = amended_split(cmd, cmd.amount, convention.award)
            terms = self.scheme(convention.scheme_code).terms_on(cmd.on)
            terms.check_award(award)
            ledger = self._de_minimis_increase(convention, terms, award, cmd.on)
        amendment = convention.amend(
            cmd.number,
            cmd.on,
            cmd.reason,
            programme_end=cmd.programme_end,
            award=award,
            site=None if cmd.site is None else amended_site(cmd.site, convention),
            jobs=cmd.jobs,
            investment=None if cmd.investment is None else Money(cmd.investment),
        )
        if ledger is None:
            self._commit(convention)
            return amendment
        company, increase = ledger
        reference_in_ledger = amendment_ledger_reference(convention.number, amendment.number)
        company.record_aid_granted(cmd.on, increase, StateAidRegime.DE_MINIMIS, reference_in_ledger)
        self._commit(convention, company)
        return amendment

    def _de_minimis_increase(
        self: AmendmentHost, convention: Convention, terms: SchemeTerms, award: AwardSplit, on: date
    ) -> tuple[Company, Money] | None:
        """The company and the increase to enter in its ledger, once checked (None: nothing to enter).

        Only an increase of a de minimis award is a new aid granted on the amendment date. The
        increase is measured against what the ledger already holds for this aid (the award,
        ``APPLICATION/DELIBERATION``, and earlier increases, ``CONVENTION/amendment-N``,
        matched exactly). A decrease is not
        entered, so a later increase back to an amount already entered adds nothing: the
        ledger may overstate the company's exposure, never understate it (ADR 0007).
        """
        siren = convention.beneficiary.siren
        if terms.regime is not StateAidRegime.DE_MINIMIS or siren is None:
            return None
        company = self.company(siren.value) or Company.register(siren.value, convention.beneficiary.name, on)
        decided = self.application(convention.application_reference).award
        own = {amendment_ledger_reference(convention.number, a.number) for a in convention.amendments}
        if decided is not None:
            own.add(award_ledger_reference(convention.application_reference, decided.decision.deliberation))
        entered = Money.total(
            aid.amount for aid in company.aids_granted
            if aid.regime is StateAidRegime.DE_MINIMIS and aid.reference in own
        )
        increase = award.total.amount - entered.amount
        if increase <= 0:
            return None
        rules = self.rulebook.version_on(on)
        check_de_minimis_increase(
            company.aids_granted, Money(increase), on, rules.de_minimis_ceiling, rules.de_minimis_years
        )
        return company, Money(increase)

    def amendments(self: AmendmentHost, reference: str) -> list[AmendmentView]:
        """Every amendment of a convention, with the terms before and after each one."""
        convention = self._convention_of(reference)
        history = convention.terms_history
        return [
            AmendmentView(
                number=a.number, signed_on=a.signed_on, reason=a.reason,
                kinds=[k.value for k in a.kinds],
                before=terms_view(history[index]), after=terms_view(history[index + 1]),
            )
            for index, a in enumerate(convention.amendments)
        ]


def amended_split(cmd: AmendStep, amount: Decimal, current: AwardSplit) -> AwardSplit:
    """The new award split: the parts given, else the whole amount on the single current instrument."""
    given = {part: getattr(cmd, part) for part in SPLIT_PARTS if getattr(cmd, part) is not None}
    if not given:
        parts = current.nonzero()
        if len(parts) != 1:
            held = ", ".join(f"{i.value} {m}" for i, m in parts.items())
            msg = f"the award is split ({held}): give the split of the new amount"
            raise DomainRuleViolation(msg, field="grant", value=None)
        (instrument,) = parts
        given = {instrument.value: amount}
    split = AwardSplit(**{part: Money(value) for part, value in given.items()})
    if split.total.amount != amount:
        msg = f"the split ({split.total}) does not add up to the amount {Money(amount)}"
        raise DomainRuleViolation(msg, field="amount", value=str(amount))
    return split


def amended_site(data: c.SiteIn, convention: Convention) -> Site:
    """The new aided site; its SIRET must belong to the beneficiary (same SIREN)."""
    site = Site(commune=data.commune, department=data.department, siret=data.siret)
    siren = convention.beneficiary.siren
    if site.siret is not None and siren is not None and site.siret.siren != siren:
        msg = f"SIRET {site.siret} does not start with the beneficiary's SIREN {siren}"
        raise InvalidValue(msg, field="site.siret", value=str(site.siret))
    return site


def terms_view(terms: TermsInForce) -> TermsView:
    """JSON-ready terms in force."""
    return TermsView(
        amendment=terms.amendment,
        programme_start=terms.obligations.programme_start,
        programme_end=terms.obligations.programme_end,
        planned_end=terms.programme.end,
        jobs=terms.programme.jobs,
        investment=terms.programme.investment.amount,
        awarded=terms.award.total.amount,
        split={k.value: v.amount for k, v in terms.award.nonzero().items()},
        site={
            "commune": terms.site.commune,
            "department": terms.site.department,
            "siret": None if terms.site.siret is None else str(terms.site.siret),
        },
    )
