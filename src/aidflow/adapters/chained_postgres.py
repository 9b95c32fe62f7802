"""PostgreSQL application recorder that writes the hash chain with the events (issue 6).

Selected through eventsourcing's ``APPLICATION_RECORDER_TOPIC`` by
:func:`aidflow.adapters.store.env_for_store`. It overrides ``_insert_events``, the hook
eventsourcing 9.5's ``PostgresApplicationRecorder.insert_events`` calls inside the
insert transaction before inserting the events (its process recorder writes tracking
records there). The hook takes the events table's lock first, which the base class takes
anyway a moment later, so that reading each aggregate's head link and assigning chain
positions happen in the same serial order as notification ids. Pinned to eventsourcing
``>=9.5.6,<9.6`` and covered by eventsourcing's own recorder contract suite
(``tests/adapters/test_chained_recorder_contract.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from aidflow.adapters.chain import CHAIN_TABLE, EventRow, LinkRow, canonical_id, new_links

CREATE_ATTEMPTS = 5
"""How many times creating the tables is tried when processes race to create eventsourcing's types."""


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """``PostgresApplicationRecorder`` plus the ``aidflow_chain`` table, written atomically."""

    chain_table_name = CHAIN_TABLE

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        if datastore.enable_db_functions:
            # That path inserts through a PL/pgSQL function and never calls _insert_events.
            msg = "the hash chain needs POSTGRES_ENABLE_DB_FUNCTIONS off"
            raise ValueError(msg)
        super().__init__(datastore, events_table_name=events_table_name)
        self.check_identifier_length(self.chain_table_name)
        names = {
            "schema": Identifier(self.datastore.schema),
            "chain": Identifier(self.chain_table_name),
            "events": Identifier(self.events_table_name),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{chain} ("
                "position bigserial PRIMARY KEY, "
                "originator_id {id_type} NOT NULL, "
                "originator_version bigint NOT NULL, "
                "link bytea NOT NULL, "
                "UNIQUE (originator_id, originator_version))"
            ).format(id_type=Identifier(self.datastore.originator_id_type), **names)
        )
        self.select_heads_statement = SQL(
            "SELECT DISTINCT ON (originator_id) originator_id, originator_version, link "
            "FROM {schema}.{chain} WHERE originator_id = ANY(%s) "
            "ORDER BY originator_id, originator_version DESC"
        ).format(**names)
        self.insert_link_statement = SQL(
            "INSERT INTO {schema}.{chain} (originator_id, originator_version, link) VALUES (%s, %s, %s)"
        ).format(**names)
        self._select_events = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{events}"
        ).format(**names)
        self._select_versions = SQL(
            "SELECT originator_version, topic, state FROM {schema}.{events} WHERE originator_id = %s"
        ).format(**names)
        self._select_links = SQL(
            "SELECT position, originator_id, originator_version, link FROM {schema}.{chain}"
        ).format(**names)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The base query without reading the originator id back from every row.

        Every row has the id asked for; the base class loads a new ``UUID`` from each row
        (a fifth of a 10 000-event replay, issue 7). A ``str`` id takes the base path.
        """
        if not isinstance(originator_id, UUID):
            events: Sequence[StoredEvent] = super().select_events(
                originator_id, gt=gt, lte=lte, desc=desc, limit=limit
            )
            return events
        statement = self._select_versions
        params: list[Any] = [originator_id]
        if gt is not None:
            params.append(gt)
            statement += SQL(" AND originator_version > %s")
        if lte is not None:
            params.append(lte)
            statement += SQL(" AND originator_version <= %s")
        statement += SQL(" ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC")
        if limit is not None:
            params.append(limit)
            statement += SQL(" LIMIT %s")
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(originator_id, version, topic, state if type(state) is bytes else bytes(state))
                for version, topic, state in curs.fetchall()
            ]

    def create_table(self) -> None:
        """eventsourcing's ``create_table``, retried when another process creates a type at once.

        eventsourcing creates its composite types (``stored_event_uuid``…) in transactions of
        their own, outside :meth:`_create_table`'s lock, and tolerates only ``DuplicateObject``.
        Two processes opening a fresh store together can instead collide on the catalogue's
        unique index (``pg_type_typname_nsp_index``), an ``IntegrityError``. Every statement
        is idempotent, so it is run again: the second time the type exists.
        """
        for attempt in range(CREATE_ATTEMPTS):
            try:
                super().create_table()
            except IntegrityError as error:
                if "pg_type" not in str(error) or attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
            else:
                return

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        # eventsourcing runs CREATE OR REPLACE FUNCTION at every start: two processes starting at
        # once fail with "tuple concurrently updated". One lock per database serialises the DDL.
        curs.execute(SQL("SELECT pg_advisory_xact_lock(hashtext('aidflow-create-tables'))"))
        super()._create_table(curs)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any  # noqa: ANN401 - the base hook's signature
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if not stored_events:
            return
        self._lock_table(curs)
        originator_ids = list({e.originator_id for e in stored_events})
        curs.execute(self.select_heads_statement, (originator_ids,))
        heads = {
            canonical_id(row["originator_id"]): (row["originator_version"], bytes(row["link"]))
            for row in curs.fetchall()
        }
        # Under the table lock the heads are final: a version already chained is a concurrent
        # write. Say so now, as eventsourcing would; inserting the link first would abort the
        # pipeline and surface as an OperationalError ("pipeline aborted") instead.
        for event in stored_events:
            head = heads.get(canonical_id(event.originator_id))
            if head is not None and event.originator_version <= head[0]:
                msg = f"version {event.originator_version} of {event.originator_id} is already recorded"
                raise IntegrityError(msg)
        curs.executemany(
            self.insert_link_statement,
            [
                (event.originator_id, event.originator_version, value)
                for event, value in new_links(heads, stored_events)
            ],
        )

    # -------------------------------------------------------------- reading

    def _filtered(self, statement: Composed, order: str, ids: Sequence[UUID | str] | None) -> Composed:
        if ids is not None:
            statement += SQL(" WHERE originator_id = ANY(%s)")
        return statement + SQL(" ORDER BY {}").format(Identifier(order))

    @staticmethod
    def _link_row(row: DictRow) -> LinkRow:
        return LinkRow(
            position=row["position"],
            originator_id=canonical_id(row["originator_id"]),
            version=row["originator_version"],
            link=bytes(row["link"]),
        )

    def read_chain(
        self, originator_ids: Sequence[UUID | str] | None = None
    ) -> tuple[list[EventRow], list[LinkRow]]:
        """Events and links (all, or of some aggregates) from one repeatable-read snapshot."""
        params = () if originator_ids is None else (list(originator_ids),)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            curs.execute(self._filtered(self._select_events, "notification_id", originator_ids), params)
            events = [
                EventRow(
                    originator_id=canonical_id(row["originator_id"]),
                    version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                    notification_id=row["notification_id"],
                )
                for row in curs.fetchall()
            ]
            curs.execute(self._filtered(self._select_links, "position", originator_ids), params)
            links = [self._link_row(row) for row in curs.fetchall()]
        return events, links

    def count_events(self) -> int:
        """How many events the store holds: rows, not the highest notification id, which a
        rolled-back insert leaves a gap under (its ids are used up)."""
        statement = SQL("SELECT count(*) AS n FROM {schema}.{events}").format(
            schema=Identifier(self.datastore.schema), events=Identifier(self.events_table_name)
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement)
            row = curs.fetchone()
            return int(row["n"]) if row else 0

    def read_links(self) -> list[LinkRow]:
        """Every link in chain position order."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._filtered(self._select_links, "position", None))
            return [self._link_row(row) for row in curs.fetchall()]
