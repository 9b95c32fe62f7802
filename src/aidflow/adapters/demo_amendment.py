# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The demo amendment: a 6-month programme extension (avenant no. 1) on a signed demo convention.

DOSSIER.md step ``amend``: "amendment (avenant) signed on ``on``; windows follow the
amended terms". The extension moves the O1/O2 windows (they run from the programme end,
``002_8b3eb659ad96bcac.txt L3420-3424``) and never O3-O7 (from the original signature,
L3424-3448); ADR 0007. Dates are derived from the convention itself (no clock), so the
demo records the same amendment on every run, and a second run records nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from aidflow.domain.aid_application import AidApplication
from aidflow.domain.convention import Amendment, Convention, ConventionStatus
from aidflow.domain.dates import add_months

DEMO_REASON = "Prolongation du programme de 6 mois (retard de livraison des équipements)"
EXTENSION_MONTHS = 6
SIGNED_BEFORE_END = timedelta(days=60)
"""The avenant is signed 60 days before the planned end (never before the convention's signature)."""


class AmendingApp(Protocol):
    """An ``Aidflow`` with the ``AmendmentVerbs`` mixed in."""

    def resolve(self, reference: str) -> tuple[AidApplication, Convention | None]: ...

    def amend(self, reference: str, step: Any) -> Amendment: ...  # noqa: ANN401 - a step dict


def demo_amendment_step(convention: Convention) -> dict[str, Any]:
    """The ``amend`` step extending ``convention``'s programme by 6 months."""
    last = convention.amendment_in_force
    on = convention.programme.end - SIGNED_BEFORE_END
    if convention.completion is not None:
        on = min(on, convention.completion.on)
    on = max(on, convention.signed_on, last.signed_on if last else convention.signed_on)
    return {
        "on": on.isoformat(),
        "do": "amend",
        "number": (last.number if last else 0) + 1,
        "reason": DEMO_REASON,
        "programme_end": add_months(convention.programme.end, EXTENSION_MONTHS).isoformat(),
    }


def record_demo_amendment(app: AmendingApp, reference: str) -> Amendment | None:
    """Sign the demo extension on ``reference``'s convention; None if already signed or not amendable.

    Args:
        app: the application, with the amendment verbs.
        reference: an application reference or a convention number of a signed demo dossier.

    Returns:
        The amendment recorded, or None when the demo extension is already recorded or the
        convention cannot be amended (no convention, in breach, fulfilled or closed).
    """
    _, convention = app.resolve(reference)
    if convention is None or convention.status is not ConventionStatus.SIGNED:
        return None
    if any(a.reason == DEMO_REASON for a in convention.amendments):
        return None
    return app.amend(convention.number, demo_amendment_step(convention))
