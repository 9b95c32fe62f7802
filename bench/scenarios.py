"""The measurements: append, replay, projection rebuild, clawback assessment.

Each measurement times the same work three ways where the brief asks for it: the raw
engine (stdlib sqlite3 / psycopg with the same table shape and the same rows), stock
eventsourcing 9.5.6 (default transcoder, mapper, recorder and projector) and aidflow.
Setup (building data, creating tables, filling stores) is outside the timers.
"""

from __future__ import annotations

import copy
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from aidflow.adapters.bulk_import import DEFAULT_BATCH_SIZE, DossierBatch, import_jsonl, record_steps
from aidflow.adapters.portfolio import Portfolio, open_view
from aidflow.application.dossier import run_dossier
from aidflow.application.service import Aidflow
from aidflow.domain.identity import convention_id
from aidflow.domain.obligations import FactKind, MonitoringFact
from bench.data import realistic_dossiers
from bench.stores import StockApp, Store, store_of

ASSESS_ON = date(2026, 11, 15)
PG_EVENTS = f"{Aidflow.name.lower()}_events"
"""eventsourcing's PostgreSQL events table of an application named ``Aidflow``."""


@dataclass
class Figure:
    """A rate measured over several runs: median, min and max."""

    rates: list[float]
    unit: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": round(self.median, 1), "min": round(min(self.rates), 1),
            "max": round(max(self.rates), 1), "runs": len(self.rates), "unit": self.unit, **self.extra,
        }


def measure(
    work: int, unit: str, run: Callable[[Any], object], setup: Callable[[], Any], runs: int
) -> Figure:
    """``runs`` timed runs of ``run(setup())``, as ``work`` units per second; one untimed warm-up."""
    run(setup())
    rates = []
    for _ in range(runs):
        prepared = setup()
        started = time.perf_counter()
        run(prepared)
        rates.append(work / (time.perf_counter() - started))
    return Figure(rates, unit)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ======================================================================== append


@dataclass
class AppendData:
    """The aggregates (with their pending events) of realistic dossiers, in import batches."""

    batches: list[list[Aggregate]]
    events: int
    rows: list[tuple[str, int, str, bytes]]
    dossiers: list[dict[str, Any]]


def prepare_append(count: int) -> AppendData:
    dossiers = list(realistic_dossiers(count))
    app = Aidflow(store="memory:")
    batches: list[list[Aggregate]] = []
    for chunk in chunks(dossiers, DEFAULT_BATCH_SIZE):
        batch = DossierBatch(app)
        app.unit_of_work = batch
        for dossier in chunk:
            record_steps(app, dossier)
            batch.accept()
        app.unit_of_work = None
        aggregates = batch.aggregates()
        batches.append(copy.deepcopy(aggregates))
        app.save(*aggregates)
    mapper = app.mapper
    rows = []
    for aggregates in batches:
        for aggregate in copy.deepcopy(aggregates):
            for event in aggregate.collect_events():
                stored = mapper.to_stored_event(event)
                originator = UUID(str(stored.originator_id)).hex
                rows.append((originator, stored.originator_version, stored.topic, stored.state))
    return AppendData(batches, len(rows), rows, dossiers)


def _raw_sqlite_insert(path: Path, rows: Sequence[tuple[str, int, str, bytes]]) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS raw_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        for chunk in chunks(rows, 1000):
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO raw_events VALUES (?,?,?,?)", chunk)
            connection.execute("COMMIT")
    finally:
        connection.close()


def _raw_postgres_insert(store: Store, rows: Sequence[tuple[str, int, str, bytes]], table: str) -> None:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    name = sql.SQL("{}.{}").format(sql.Identifier(store.schema or "public"), sql.Identifier(table))
    with psycopg.connect(store.server or "") as conn:
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text, state bytea, notification_id bigserial, "
            "PRIMARY KEY (originator_id, originator_version))"
        ).format(name))
        conn.commit()
        insert = sql.SQL("INSERT INTO {} (originator_id, originator_version, topic, state) "
                         "VALUES (%s,%s,%s,%s)").format(name)
        for chunk in chunks(rows, 1000):
            with conn.cursor() as cur:
                cur.executemany(insert, chunk)
            conn.commit()


def append(kind: str, server: str | None, count: int, runs: int) -> dict[str, Figure]:
    """Storing the events of ``count`` realistic dossiers: raw rows, stock save, aidflow save."""
    data = prepare_append(count)
    figures: dict[str, Figure] = {}
    serial = iter(range(10**6))
    fresh: list[list[list[Aggregate]]] = []

    with store_of(kind, server) as store:
        base = store.path.parent if store.path is not None else None

        def raw_run(n: int) -> None:
            if base is not None:
                _raw_sqlite_insert(base / f"raw{n}.sqlite", data.rows)
            else:
                _raw_postgres_insert(store, data.rows, f"raw_events_{n}")

        figures["raw"] = measure(data.events, "events/s", raw_run, lambda: next(serial), runs)

    def opened(app_class: Callable[[Store], Any]) -> Callable[[], tuple[Any, Any]]:
        def setup() -> tuple[Any, Any]:
            holder = store_of(kind, server)
            return holder, app_class(holder.__enter__())
        return setup

    def stock_run(prepared: tuple[Any, StockApp]) -> None:
        holder, app = prepared
        try:
            for aggregates in fresh.pop():
                for aggregate in aggregates:
                    app.save(aggregate)  # one aggregate per transaction
        finally:
            app.close()
            holder.__exit__(None, None, None)

    def aidflow_run(prepared: tuple[Any, Aidflow]) -> None:
        holder, app = prepared
        try:
            for aggregates in fresh.pop():
                app.save(*aggregates)  # one import batch per transaction
        finally:
            app.close()
            holder.__exit__(None, None, None)

    # Fresh copies of the pending events for each run, made before the timers start.
    fresh = [copy.deepcopy(data.batches) for _ in range(runs + 1)]
    figures["stock"] = measure(data.events, "events/s", stock_run,
                               opened(lambda s: StockApp(env=s.stock_env())), runs)
    fresh = [copy.deepcopy(data.batches) for _ in range(runs + 1)]
    figures["aidflow"] = measure(data.events, "events/s", aidflow_run,
                                 opened(lambda s: Aidflow(store=s.url)), runs)
    figures["aidflow"].extra = {"dossiers": count, "events": data.events,
                                "dossiers_per_transaction": DEFAULT_BATCH_SIZE}
    # Where the time goes: the same save without the hash-chain recorder, and the encoding alone.
    unchained = {"APPLICATION_RECORDER_TOPIC": UNCHAINED_RECORDERS[kind]}
    fresh = [copy.deepcopy(data.batches) for _ in range(runs + 1)]
    figures["aidflow_unchained"] = measure(data.events, "events/s", aidflow_run,
                                           opened(lambda s: Aidflow(store=s.url, env=unchained)), runs)
    figures["encode"] = _encoding(data, runs)
    figures["import"], figures["dossier_run"] = _end_to_end(kind, server, data, runs)
    return figures


UNCHAINED_RECORDERS = {
    "sqlite": "eventsourcing.sqlite:SQLiteApplicationRecorder",
    "postgres": "eventsourcing.postgres:PostgresApplicationRecorder",
}
"""eventsourcing's own recorders: aidflow's save path without the hash chain (bench only)."""


def _encoding(data: AppendData, runs: int) -> Figure:
    """``mapper.to_stored_event`` alone, with aidflow's mapper and transcoder, on the same events."""
    app = Aidflow(store="memory:")
    mapper = app.mapper
    aggregates = [agg for batch in copy.deepcopy(data.batches) for agg in batch]
    events = [event for agg in aggregates for event in agg.collect_events()]

    def run(_: object) -> None:
        for event in events:
            mapper.to_stored_event(event)

    figure = measure(len(events), "events/s", run, lambda: None, runs)
    app.close()
    return figure


def _end_to_end(kind: str, server: str | None, data: AppendData, runs: int) -> tuple[Figure, Figure]:
    """``import_jsonl`` (domain work included) vs recording the same dossiers one by one."""
    with store_of("sqlite", None) as scratch:
        assert scratch.path is not None  # noqa: S101
        source = scratch.path.parent / "dossiers.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for dossier in data.dossiers:
                out.write(json.dumps(dossier, ensure_ascii=False) + "\n")

        def setup() -> tuple[Any, Aidflow]:
            holder = store_of(kind, server)
            opened = holder.__enter__()
            return holder, Aidflow(store=opened.url)

        def run_import(prepared: tuple[Any, Aidflow]) -> None:
            holder, app = prepared
            try:
                report = import_jsonl(app, source)
                if report.refused:  # pragma: no cover - the demo data is valid
                    msg = f"benchmark dossiers refused: {report.refused[:3]}"
                    raise RuntimeError(msg)
            finally:
                app.close()
                holder.__exit__(None, None, None)

        def run_one_by_one(prepared: tuple[Any, Aidflow]) -> None:
            holder, app = prepared
            try:
                for dossier in subset:
                    run_dossier(app, dossier)
            finally:
                app.close()
                holder.__exit__(None, None, None)

        imported = measure(data.events, "events/s", run_import, setup, runs)
        imported.extra = {"dossiers": len(data.dossiers)}
        subset = data.dossiers[: max(len(data.dossiers) // 5, 42)]
        subset_events = _events_of(subset)
        one_by_one = measure(subset_events, "events/s", run_one_by_one, setup, max(runs // 2, 1))
        one_by_one.extra = {"dossiers": len(subset)}
        return imported, one_by_one


def _events_of(dossiers: Sequence[dict[str, Any]]) -> int:
    app = Aidflow(store="memory:")
    for dossier in dossiers:
        run_dossier(app, dossier)
    return app.event_count()


# ======================================================================== replay


def _long_convention(app: Aidflow, events: int) -> str:
    """A convention with ``events`` events: a realistic signed dossier, its payments, its
    completion, then monthly headcount declarations (through the event method, because
    ``record_fact`` checks every earlier fact and 10 000 of them would be slow to build)."""
    for dossier in realistic_dossiers(42):
        steps = dossier["steps"]
        if any(s["do"] == "complete_programme" for s in steps):
            kept = [s for s in steps if s["do"] not in ("declare_headcount", "assess_clawback")]
            run_dossier(app, {**dossier, "steps": kept})
            number = next(s["convention"] for s in steps if s["do"] == "sign")
            break
    convention = app.convention(number)
    day = convention.programme_end
    while convention.version < events:
        day += timedelta(days=3)
        convention._headcount_declared(  # noqa: SLF001 - bench data only, see the docstring
            fact=MonitoringFact(kind=FactKind.HEADCOUNT, on=day, jobs=5 + convention.version % 7)
        )
    app.save(convention)
    return number


def replay(kind: str, server: str | None, events: int, runs: int) -> dict[str, Figure]:
    with store_of(kind, server) as store:
        app = Aidflow(store=store.url)
        number = _long_convention(app, events)
        identifier = convention_id(number)
        stock = StockApp(env=store.stock_env())
        raw_select, raw_decode = _raw_readers(store, identifier)
        figures = {
            "raw_select": measure(events, "events/s", lambda _: raw_select(), lambda: None, runs),
            "raw_select_decode": measure(events, "events/s", lambda _: raw_decode(), lambda: None, runs),
            "stock": measure(events, "events/s", lambda _: stock.repository.get(identifier),
                             lambda: None, runs),
            "aidflow": measure(events, "events/s", lambda _: app.convention(number), lambda: None, runs),
        }
        assert stock.repository.get(identifier) == app.convention(number)  # noqa: S101 - same state
        stock.close()
        app.close()
    return figures


def _raw_readers(store: Store, identifier: UUID) -> tuple[Callable[[], list[Any]], Callable[[], list[Any]]]:
    if store.kind == "sqlite":
        connection = sqlite3.connect(store.path or "", check_same_thread=False)

        def select() -> list[Any]:
            return connection.execute(
                "SELECT originator_version, topic, state FROM stored_events "
                "WHERE originator_id=? ORDER BY originator_version", (identifier.hex,)
            ).fetchall()
    else:
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        conn = psycopg.connect(store.server or "", autocommit=True)
        statement = sql.SQL(
            "SELECT originator_version, topic, state FROM {}.{} "
            "WHERE originator_id=%s ORDER BY originator_version"
        ).format(sql.Identifier(store.schema or "public"), sql.Identifier(PG_EVENTS))

        def select() -> list[Any]:
            return conn.execute(statement, (identifier,)).fetchall()

    def decode() -> list[Any]:
        return [json.loads(state) for _, _, state in select()]

    return select, decode


# ======================================================================== rebuild + clawback


def fill_store(store: Store, dossiers: int, events: int) -> int:
    """Import ``dossiers`` realistic dossiers, then copy their rows (new aggregate ids) up to
    ``events`` stored events. Returns the number of events in the store."""
    app = Aidflow(store=store.url)
    with store_of("sqlite", None) as scratch:
        assert scratch.path is not None  # noqa: S101
        source = scratch.path.parent / "dossiers.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for dossier in realistic_dossiers(dossiers):
                out.write(json.dumps(dossier, ensure_ascii=False) + "\n")
        import_jsonl(app, source)
    base = app.event_count()
    app.close()
    copies = max(events // base - 1, 0)
    if store.kind == "sqlite":
        connection = sqlite3.connect(store.path or "", isolation_level=None)
        for k in range(1, copies + 1):
            connection.execute("BEGIN")
            connection.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                "SELECT printf('%08x', ?) || substr(originator_id, 9), originator_version, topic, state "
                "FROM stored_events WHERE rowid <= ? ORDER BY rowid", (k, base))
            connection.execute("COMMIT")
        total = connection.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
        connection.close()
    else:
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        table = sql.SQL("{}.{}").format(sql.Identifier(store.schema or "public"), sql.Identifier(PG_EVENTS))
        with psycopg.connect(store.server or "", autocommit=True) as conn:
            for k in range(1, copies + 1):
                conn.execute(sql.SQL(
                    "INSERT INTO {t} (originator_id, originator_version, topic, state) "
                    "SELECT overlay(originator_id::text "
                    "placing lpad(to_hex(%s::int), 8, '0') from 1 for 8)::uuid, "
                    "originator_version, topic, state FROM {t} WHERE notification_id <= %s "
                    "ORDER BY notification_id").format(t=table), (k, base))
            conn.execute(sql.SQL("ANALYZE {}").format(table))
            total = conn.execute(sql.SQL("SELECT MAX(notification_id) FROM {}").format(table)).fetchone()[0]
    return int(total)


def worker(args: Sequence[str]) -> None:
    """``python -m bench worker rebuild|raw-read URL KIND SCHEMA_OR_PATH``: one measurement in a
    fresh process, printing JSON (events/s and peak RSS of this process)."""
    what, url, kind, where = args
    started = time.perf_counter()
    if what == "rebuild":
        app = Aidflow(store=url)
        done = Portfolio(app).rebuild()
        app.close()
    else:
        done = _raw_read_all(kind, where, url)
    seconds = time.perf_counter() - started
    print(json.dumps({"events": done, "seconds": seconds, "peak_mib": _peak_kib() / 1024}))


def _peak_kib() -> int:
    """This process's peak resident memory. ``VmHWM`` rather than ``ru_maxrss``, which Linux
    carries over from the forking parent across ``exec``."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _raw_read_all(kind: str, where: str, server: str) -> int:
    done = 0
    if kind == "sqlite":
        connection = sqlite3.connect(where)
        position = 0
        while True:
            page = connection.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
                "WHERE rowid > ? ORDER BY rowid LIMIT 1000", (position,)).fetchall()
            for row in page:
                json.loads(row[4])
            done += len(page)
            if len(page) < 1000:
                return done
            position = page[-1][0]
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    statement = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
        "WHERE notification_id > %s ORDER BY notification_id LIMIT 1000"
    ).format(sql.Identifier(where), sql.Identifier(PG_EVENTS))
    with psycopg.connect(server) as conn:
        position = 0
        while True:
            page = conn.execute(statement, (position,)).fetchall()
            for row in page:
                json.loads(row[4])
            done += len(page)
            if len(page) < 1000:
                return done
            position = page[-1][0]


def _in_worker(what: str, store: Store) -> dict[str, Any]:
    where = str(store.path) if store.kind == "sqlite" else (store.schema or "public")
    url = store.url if what == "rebuild" else (store.server or "")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "worker", what, url, store.kind, where],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        msg = f"bench worker {what} failed:\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rebuild_and_clawback(
    kind: str, server: str | None, events: int, conventions: int, runs: int, clawback_runs: int
) -> dict[str, Figure]:
    with store_of(kind, server) as store:
        total = fill_store(store, dossiers=2000 if events >= 200_000 else 420, events=events)
        raw = [_in_worker("raw-read", store) for _ in range(runs)]
        built = [_in_worker("rebuild", store) for _ in range(runs)]
        figures = {
            "raw_select_decode": Figure(
                [r["events"] / r["seconds"] for r in raw], "events/s",
                {"events": total, "peak_mib": round(max(r["peak_mib"] for r in raw), 1)}),
            "rebuild": Figure([r["events"] / r["seconds"] for r in built], "events/s",
                              {"events": total, "peak_mib": round(max(r["peak_mib"] for r in built), 1)}),
        }
        figures["clawback"] = _clawback(store, conventions, clawback_runs)
    return figures


def _clawback(store: Store, conventions: int, runs: int) -> Figure:
    """Assess ``conventions`` conventions as of ASSESS_ON from the read model (rows copied
    with new ids up to that count)."""
    app = Aidflow(store=store.url)
    portfolio = Portfolio(app)
    portfolio.catch_up()
    have = open_view(app).counts()[1]
    copies = max(-(-conventions // max(have, 1)) - 1, 0)
    _copy_convention_rows(store, copies)
    total = open_view(app).counts()[1]

    def run(_: object) -> None:
        for _number, _assessment in portfolio.preview_clawback(ASSESS_ON):
            pass

    figure = measure(total, "conventions/s", run, lambda: None, runs)
    figure.extra = {"conventions": total}
    app.close()
    return figure


def _copy_convention_rows(store: Store, copies: int) -> None:
    columns = ("number, application_reference, scheme, call, size, department, status, signed_on, awarded, "
               "paid, ordered, repaid, waived, clawback_due, open_breaches, amended_on, clawback_inputs")
    if store.kind == "sqlite":
        connection = sqlite3.connect(store.path or "", isolation_level=None)
        connection.execute("CREATE TEMP TABLE originals AS SELECT * FROM portfolio_conventions")
        for k in range(1, copies + 1):
            connection.execute(
                f"INSERT INTO portfolio_conventions SELECT printf('c%06x-', ?) || id, {columns} "
                "FROM originals", (k,))
        connection.close()
        return
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    table = sql.SQL("{}.portfolio_conventions").format(sql.Identifier(store.schema or "public"))
    with psycopg.connect(store.server or "", autocommit=True) as conn:
        base_ids = [r[0] for r in conn.execute(sql.SQL("SELECT id FROM {}").format(table)).fetchall()]
        for k in range(1, copies + 1):
            conn.execute(sql.SQL(
                "INSERT INTO {t} SELECT 'c' || lpad(to_hex(%s::int), 6, '0') || '-' || id, " + columns
                + " FROM {t} WHERE id = ANY(%s)").format(t=table), (k, base_ids))
