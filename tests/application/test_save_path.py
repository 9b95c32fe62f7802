"""``Aidflow.save`` collects pending events exactly as eventsourcing's ``Application.save`` does.

``collect_pending`` replaces ``ProcessingEvent.collect_events`` for ``Aggregate`` objects
(issue 7: the stock method's runtime-Protocol checks were a tenth of a bulk save). For any
mix of aggregates, bare domain events and ``None``, both must give the same events in the
same order, the same aggregates by id and the same keyword arguments.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from eventsourcing.application import ProcessingEvent

from aidflow.application.audit import collect_pending
from aidflow.application.service import Aidflow
from aidflow.domain.identity import application_id
from helpers import REFERENCE, make_eligible, submit_command


def _pending(app: Aidflow) -> list[Any]:
    """An application with several pending events, and a scheme with none."""
    app.submit(submit_command())
    make_eligible(app)
    application = app.application(REFERENCE)
    application.withdraw(on=application.submitted_on, reason="test")  # one pending event
    return [application]


@pytest.mark.parametrize("shape", ["aggregates", "with-none", "with-bare-event", "twice"])
def test_the_same_events_as_the_stock_collector(shape: str, app: Aidflow) -> None:
    (application,) = _pending(app)
    bare = copy.deepcopy(application).collect_events()[0]
    objs: list[Any] = {
        "aggregates": [application],
        "with-none": [None, application, None],
        "with-bare-event": [application, bare],
        "twice": [application, application],
    }[shape]
    stock_objs = copy.deepcopy(objs)

    ours = collect_pending(objs, {"note": 1})
    stock: ProcessingEvent[Any] = ProcessingEvent()
    stock.collect_events(*stock_objs, note=1)

    assert [(type(e), e.originator_id, e.originator_version) for e in ours.events] == [
        (type(e), e.originator_id, e.originator_version) for e in stock.events
    ]
    assert [vars(e) for e in ours.events] == [vars(e) for e in stock.events]
    assert sorted(ours.aggregates) == sorted(stock.aggregates)
    assert ours.saved_kwargs == stock.saved_kwargs == {"note": 1}


def test_saving_records_every_pending_event(app: Aidflow) -> None:
    (application,) = _pending(app)
    before = app.event_count()
    pending = len(application.pending_events)

    app.save(application)

    assert app.event_count() == before + pending
    assert app.application(REFERENCE).status.value == "withdrawn"
    assert app.repository.get(application_id(REFERENCE)).version == application.version
