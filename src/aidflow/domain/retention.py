"""How long the Region must keep a dossier: the limit on erasing a data subject's data (ADR 0008).

GDPR art. 17(3)(b) lets a controller keep personal data that a legal obligation requires. For
an aid, the dossier is kept until the last of:

* the de minimis / state-aid record: 10 years from the award (Regulation (EU) 2023/2831,
  art. 6(4); aidflow's default reading, to be confirmed by the Region's DPO);
* the end of every obligation window of its convention (RULES.md §4: O3 runs 8 years from
  the signature);
* the settlement of any sum still to recover: kept with no end date while one is outstanding.
"""

from __future__ import annotations

from datetime import date

from aidflow.domain.aid_application import AidApplication
from aidflow.domain.convention import Convention
from aidflow.domain.dates import add_years

DE_MINIMIS_RECORD_YEARS = 10
"""Regulation (EU) 2023/2831, art. 6(4): records of individual de minimis aid are kept
10 years from the grant (aidflow's default reading; the Region's DPO confirms it)."""


def keep_until(application: AidApplication, convention: Convention | None) -> list[tuple[date, str]]:
    """Each reason to keep this dossier, with the last day it applies (``date.max``: no end yet)."""
    reasons: list[tuple[date, str]] = []
    award = application.award
    if award is not None:
        reasons.append((add_years(award.decision.decided_on, DE_MINIMIS_RECORD_YEARS),
                        f"{application.reference}: de minimis / state-aid record"))
    if convention is None:
        return reasons
    reasons += [
        (window.until, f"{convention.number}: obligation {window.id.value}") for window in convention.windows
    ]
    if not convention.outstanding.is_zero():
        reasons.append((date.max, f"{convention.number}: {convention.outstanding} still to recover"))
    return reasons
