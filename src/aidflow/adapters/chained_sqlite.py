"""SQLite application recorder that writes the hash chain with the events (issue 6).

Selected through eventsourcing's ``APPLICATION_RECORDER_TOPIC`` by
:func:`aidflow.adapters.store.env_for_store`. It overrides ``_insert_events``, the insert
hook of eventsourcing 9.5's ``SQLiteApplicationRecorder`` (the one its process recorder
also extends): the events are inserted by the base class, then their links, on the same
cursor and so in the same transaction. Pinned to eventsourcing ``>=9.5.6,<9.6`` and
covered by eventsourcing's own recorder contract suite
(``tests/adapters/test_chained_recorder_contract.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from aidflow.adapters.chain import CHAIN_TABLE, EventRow, LinkRow, canonical_id, new_links


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """``SQLiteApplicationRecorder`` plus the ``aidflow_chain`` table, written atomically."""

    chain_table_name = CHAIN_TABLE

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        table = self.chain_table_name
        self.select_head_statement = (
            f"SELECT originator_version, link FROM {table} "  # noqa: S608 - table name from a constant
            "WHERE originator_id=? ORDER BY originator_version DESC LIMIT 1"
        )
        self.insert_link_statement = (
            f"INSERT INTO {table} (originator_id, originator_version, link) "  # noqa: S608 - constant name
            "VALUES (?,?,?)"
        )

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} ("
            "position INTEGER PRIMARY KEY AUTOINCREMENT, "
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "link BLOB NOT NULL, "
            "UNIQUE (originator_id, originator_version))"
        )
        return statements

    @staticmethod
    def _db_id(originator_id: UUID | str) -> str:
        """The originator id as the base recorder stores it (UUIDs as hex)."""
        return originator_id.hex if isinstance(originator_id, UUID) else originator_id

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any  # noqa: ANN401 - the base hook's signature
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        heads: dict[str, tuple[int, bytes]] = {}
        for originator_id in {e.originator_id for e in stored_events}:
            c.execute(self.select_head_statement, (self._db_id(originator_id),))
            row = c.fetchone()
            if row is not None:
                heads[canonical_id(originator_id)] = (row["originator_version"], bytes(row["link"]))
        c.executemany(
            self.insert_link_statement,
            [
                (self._db_id(event.originator_id), event.originator_version, value)
                for event, value in new_links(heads, stored_events)
            ],
        )
        return notification_ids

    # -------------------------------------------------------------- reading

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The base query, with the originator id converted once rather than once per row.

        Every row has the id asked for (``WHERE originator_id=?``); the base class parses
        it from each row's hex text, which was a fifth of a 10 000-event replay (issue 7).
        """
        db_id = self._db_id(originator_id)
        statement = self.select_events_statement
        params: list[Any] = [db_id]
        if gt is not None:
            statement += "AND originator_version>? "
            params.append(gt)
        if lte is not None:
            statement += "AND originator_version<=? "
            params.append(lte)
        statement += "ORDER BY originator_version " + ("DESC " if desc else "ASC ")
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        converted = self.convert_originator_id(db_id)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [StoredEvent(converted, row[1], row[2], row[3]) for row in c.fetchall()]

    def _where(self, originator_ids: Sequence[UUID | str] | None) -> tuple[str, list[str]]:
        if originator_ids is None:
            return "", []
        ids = [self._db_id(i) for i in originator_ids]
        return f"WHERE originator_id IN ({','.join('?' * len(ids))}) ", ids

    def _link_row(self, row: Any) -> LinkRow:  # noqa: ANN401 - sqlite3.Row
        return LinkRow(
            position=row["position"],
            originator_id=canonical_id(self.convert_originator_id(row["originator_id"])),
            version=row["originator_version"],
            link=bytes(row["link"]),
        )

    def read_chain(
        self, originator_ids: Sequence[UUID | str] | None = None
    ) -> tuple[list[EventRow], list[LinkRow]]:
        """Events and links (all, or of some aggregates) from one read transaction."""
        where, params = self._where(originator_ids)
        events_sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608 - constant names
            f"FROM {self.events_table_name} {where}ORDER BY rowid"
        )
        links_sql = (
            "SELECT position, originator_id, originator_version, link "  # noqa: S608 - constant names
            f"FROM {self.chain_table_name} {where}ORDER BY position"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(events_sql, params)
            events = [
                EventRow(
                    originator_id=canonical_id(self.convert_originator_id(row["originator_id"])),
                    version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                    notification_id=row["rowid"],
                )
                for row in c.fetchall()
            ]
            c.execute(links_sql, params)
            links = [self._link_row(row) for row in c.fetchall()]
        return events, links

    def count_events(self) -> int:
        """How many events the store holds (rows, not the highest notification id)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.events_table_name}")  # noqa: S608 - constant name
            return int(c.fetchone()[0])

    def read_links(self) -> list[LinkRow]:
        """Every link in chain position order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, originator_id, originator_version, link "  # noqa: S608 - constant names
                f"FROM {self.chain_table_name} ORDER BY position"
            )
            return [self._link_row(row) for row in c.fetchall()]
