"""How long a dossier is kept before its personal data may be erased (ADR 0008)."""

from __future__ import annotations

import copy
from datetime import date

from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.retention import DE_MINIMIS_RECORD_YEARS, keep_until
from helpers import CONVENTION, DOSSIER_EXAMPLE, REFERENCE


def test_a_signed_dossier_is_kept_for_its_record_and_every_obligation_window() -> None:
    app = Aidflow("memory:")
    run_dossier(app, copy.deepcopy(DOSSIER_EXAMPLE))
    application, convention = app.application(REFERENCE), app.convention(CONVENTION)

    reasons = {reason: until for until, reason in keep_until(application, convention)}

    assert DE_MINIMIS_RECORD_YEARS == 10
    assert reasons[f"{REFERENCE}: de minimis / state-aid record"] == date(2034, 3, 14)  # award + 10 years
    assert reasons[f"{CONVENTION}: obligation O3"] == date(2032, 4, 2)  # signature + 8 years
    assert max(reasons.values()) == date(2034, 3, 14)


def test_a_sum_still_to_recover_keeps_the_dossier_with_no_end() -> None:
    app = Aidflow("memory:")
    run_dossier(app, copy.deepcopy(DOSSIER_EXAMPLE))
    app.issue_recovery_order(REFERENCE, {"on": "2027-07-15", "ref": "T1", "amount": "18750.00"})

    reasons = keep_until(app.application(REFERENCE), app.convention(CONVENTION))

    assert (date.max, f"{CONVENTION}: 18750.00 still to recover") in reasons


def test_an_application_never_awarded_has_no_reason_to_be_kept() -> None:
    app = Aidflow("memory:")
    dossier = copy.deepcopy(DOSSIER_EXAMPLE)
    dossier["steps"] = dossier["steps"][:1]
    run_dossier(app, dossier)

    assert keep_until(app.application(REFERENCE), None) == []
