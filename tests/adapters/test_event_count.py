"""``Aidflow.event_count`` counts stored events, even where notification ids have gaps.

On PostgreSQL a transaction that inserted events and then rolled back (a killed import, a
failed commit) has used up ids from the notification sequence, so the highest id overcounts.
The count must equal the rows the notification log returns, on every store.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Literal

from aidflow.application.service import Aidflow
from helpers import make_eligible, submit_command


def _rows(app: Aidflow) -> int:
    return len(app.recorder.select_notifications(start=1, limit=1_000_000))


def _use_up_notification_ids(app: Aidflow, count: int) -> None:
    """What a rolled-back insert of ``count`` events leaves behind on PostgreSQL."""
    recorder = app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    table = f"{recorder.datastore.schema}.{recorder.events_table_name}"
    statement = SQL("SELECT nextval(pg_get_serial_sequence({}, 'notification_id'))").format(Literal(table))
    with recorder.datastore.transaction(commit=True) as curs:
        for _ in range(count):
            curs.execute(statement)


def test_the_count_is_the_rows_even_after_lost_ids(app: Aidflow, store_kind: str) -> None:
    app.submit(submit_command())
    if store_kind == "postgres":
        _use_up_notification_ids(app, 3)
    make_eligible(app)  # more events after the gap

    assert app.event_count() == _rows(app)
    if store_kind == "postgres":
        assert (app.recorder.max_notification_id() or 0) == app.event_count() + 3
