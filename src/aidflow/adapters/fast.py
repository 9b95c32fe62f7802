"""Faster equivalents of eventsourcing 9.5's transcoder, mapper and projector (issue 7).

Everything here gives *the same result* as the stock path it replaces, only cheaper:

* :class:`FastJSONTranscoder` writes byte-for-byte the JSON eventsourcing's
  ``JSONTranscoder`` writes (so stores, hash chains and bundles are unchanged) and reads it
  back to equal objects. It reuses one C encoder instead of building one per event, looks
  transcodings up once per type, encodes attrs value objects through a per-class field
  list, and calls the C scanner directly.
* :class:`FastMapper` caches, per topic, the event class, its originator-id converter and
  its class version (the stock mapper looks each up per event).
* :func:`project` replays events without the runtime ``Protocol`` ``isinstance`` check of
  eventsourcing's default ``project_aggregate`` (about 60 % of a replay, see
  ``docs/scaling.md``); every event class aidflow stores can mutate, which
  ``tests/adapters/test_fast_paths.py`` checks for every event class.
* :func:`replay_rows` reconstructs an aggregate from ``(version, topic, state)`` rows read in
  one query, for the replay benchmark and for large aggregates.

Pinned to eventsourcing ``>=9.5.6,<9.6`` (pyproject). ``tests/adapters/test_fast_paths.py``
compares every path here with the stock one for every aidflow event class.
"""

from __future__ import annotations

import json
import operator
import types
import typing
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from json.scanner import make_scanner
from typing import Any, cast
from uuid import UUID

import attrs
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from aidflow.adapters.transcodings import AttrsAsDict, DateAsISO

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]

_C_DECODERS: dict[type[Transcoding], Decoder] = {
    # The stock transcodings' decode methods only wrap these constructors (the stock ones
    # also assert the input is a string; these raise TypeError instead on anything else).
    UUIDAsHex: UUID,
    DecimalAsStr: Decimal,
    DatetimeAsISO: datetime.fromisoformat,
    DateAsISO: date.fromisoformat,
}


def _attrs_encoder(transcoding: AttrsAsDict) -> Encoder | None:
    """A field-list encoder equal to ``AttrsAsDict.encode`` (None if that method was changed)."""
    if type(transcoding).encode is not AttrsAsDict.encode:  # pragma: no cover - a subclass changed it
        return None
    names = tuple(field.name for field in attrs.fields(transcoding.type))
    if len(names) == 1:
        only = names[0]
        return lambda obj: {only: getattr(obj, only)}
    getter = operator.attrgetter(*names)
    return lambda obj: dict(zip(names, getter(obj), strict=True))


class FastJSONTranscoder(JSONTranscoder):
    """``JSONTranscoder`` with the same output, encoded and decoded with less Python per event.

    Registered transcodings are the same objects as on the stock transcoder; only the way
    they are looked up and called changes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._encoders: dict[type, tuple[str, Encoder]] = {}
        self._decoders: dict[str, Decoder] = {}
        # The arguments JSONEncoder.iterencode passes to the C encoder for the stock
        # settings (separators "," and ":", ensure_ascii=False), except the circular-
        # reference markers: events are trees, and a cycle fails either way.
        no_sort_keys = no_skip_keys = False
        allow_nan = True
        self._encode_chunks = c_make_encoder(
            None, self._default, encode_basestring, None, ":", ",", no_sort_keys, no_skip_keys, allow_nan
        )
        self.decoder = json.JSONDecoder(object_hook=self._object_hook)
        self._scan_once = cast("Any", make_scanner)(self.decoder)

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        encoder: Encoder | None = None
        if isinstance(transcoding, AttrsAsDict):
            encoder = _attrs_encoder(transcoding)
        self._encoders[transcoding.type] = (transcoding.name, encoder or transcoding.encode)
        self._decoders[transcoding.name] = _C_DECODERS.get(type(transcoding), transcoding.decode)

    def encode(self, obj: Any) -> bytes:  # noqa: ANN401 - any event state
        return "".join(self._encode_chunks(obj, 0)).encode("utf8")

    def decode(self, data: bytes) -> Any:  # noqa: ANN401 - any event state
        text = data.decode("utf8")
        try:
            obj, end = self._scan_once(text, 0)
        except StopIteration:
            return super().decode(data)  # leading whitespace or not JSON: the stock path decides
        if end != len(text):
            return super().decode(data)  # trailing data: the stock path decides
        return obj

    def _default(self, obj: Any) -> dict[str, Any]:  # noqa: ANN401 - any registered type
        entry = self._encoders.get(type(obj))
        if entry is None:
            return self._encode_obj(obj)  # raises TranscodingNotRegisteredError
        name, encode = entry
        return {"_type_": name, "_data_": encode(obj)}

    def _object_hook(self, data: dict[str, Any]) -> Any:  # noqa: ANN401 - any registered type
        if len(data) == 2:  # noqa: PLR2004 - {"_type_": …, "_data_": …}
            try:
                name = data["_type_"]
                value = data["_data_"]
            except KeyError:
                return data
            decode = self._decoders.get(name)
            if decode is None:
                return self._decode_obj(data)  # raises TranscodingNotRegisteredError
            return decode(value)
        return data


# ------------------------------------------------------------ field restorers
# JSON has no tuple and no enum: a tuple field is written as an array and read back as a
# list, an enum (aidflow's are str enums) as its value, read back as a plain str. The
# aggregates convert both back when they apply an event, but the decoded event itself would
# not match its annotations (and ``history`` would show the plain forms). The mapper restores
# them from each event class's type hints: the stored bytes are unchanged.

Restorer = Callable[[Any], Any]


def _enum_restorer(enum_class: type[Enum]) -> Restorer:
    def restore(value: Any) -> Any:  # noqa: ANN401 - a decoded JSON value
        return enum_class(value) if isinstance(value, str) and not isinstance(value, enum_class) else value

    return restore


def _tuple_restorer(each: Restorer | None) -> Restorer:
    def restore(value: Any) -> Any:  # noqa: ANN401 - a decoded JSON value
        if not isinstance(value, list | tuple):
            return value
        return tuple(value) if each is None else tuple(each(v) for v in value)

    return restore


def _optional_restorer(inner: Restorer) -> Restorer:
    def restore(value: Any) -> Any:  # noqa: ANN401 - a decoded JSON value
        return None if value is None else inner(value)

    return restore


def _restorer(hint: Any) -> Restorer | None:  # noqa: ANN401 - any annotation
    """How to turn the decoded JSON of a field annotated ``hint`` back into its type (None: as is).

    Enums, tuples (``tuple[X, ...]`` also restores each X) and ``T | None`` of those.
    """
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_restorer(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is tuple:
        homogeneous = len(args) == 2 and args[1] is Ellipsis  # noqa: PLR2004 - tuple[X, ...]
        return _tuple_restorer(_restorer(args[0]) if homogeneous else None)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inner = _restorer(options[0]) if len(options) == 1 else None
        return None if inner is None else _optional_restorer(inner)
    return None


def field_restorers(cls: type) -> tuple[tuple[str, Restorer], ...]:
    """``(field, restorer)`` for each field of an event class that JSON does not round-trip."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: decode as stored, as before
        return ()
    found = []
    for name, hint in hints.items():
        if typing.get_origin(hint) is typing.ClassVar:
            continue
        restore = _restorer(hint)
        if restore is not None:
            found.append((name, restore))
    return tuple(found)


def restore_fields(state: dict[str, Any], restorers: tuple[tuple[str, Restorer], ...]) -> None:
    for name, restore in restorers:
        if name in state:
            state[name] = restore(state[name])


class FastMapper(Mapper[UUID]):
    """eventsourcing's ``Mapper`` with per-topic caching when there is no cipher or compressor.

    With a cipher or a compressor configured it defers to the stock methods entirely.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - Mapper's signature
        super().__init__(*args, **kwargs)
        self._plain = self.cipher is None and self.compressor is None
        self._by_topic: dict[tuple[str, type], tuple[type[Any], Callable[[Any], Any], int]] = {}
        self._restorers: dict[type, tuple[tuple[str, Restorer], ...]] = {}

    def _restorers_of(self, cls: type) -> tuple[tuple[str, Restorer], ...]:
        found = self._restorers.get(cls)
        if found is None:
            found = self._restorers[cls] = field_restorers(cls)
        return found

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not self._plain:
            return super().to_stored_event(domain_event)
        cls = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        if not self._plain:
            event = super().to_domain_event(stored_event)
            restorers = self._restorers_of(type(event))
            if restorers:
                restore_fields(vars(event), restorers)
            return event
        topic = stored_event.topic
        id_type = type(stored_event.originator_id)
        cached = self._by_topic.get((topic, id_type))
        if cached is None:
            cls = resolve_topic(topic)
            convert = find_id_convertor(cls, cast("Hashable", id_type))
            cached = (cls, convert, getattr(cls, "class_version", 1))
            self._by_topic[topic, id_type] = cached
        cls, convert_id, class_version = cached
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception as error:
            msg = (
                f"Failed to deserialise state of stored event with topic '{topic}', "
                f"originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            )
            raise MapperDeserialisationError(msg) from error
        state["originator_id"] = convert_id(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        restorers = self._restorers_of(cls)
        if restorers:
            restore_fields(state, restorers)
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast("DomainEventProtocol[UUID]", domain_event)


def project(aggregate: Any, domain_events: Iterable[Any]) -> Any:  # noqa: ANN401 - any aggregate
    """``project_aggregate`` without the per-event runtime Protocol check.

    Each event's own ``mutate`` still checks the originator id and the version sequence.
    """
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def replay_rows(mapper: Mapper[UUID], originator_id: UUID, rows: Sequence[tuple[int, str, bytes]]) -> Any:  # noqa: ANN401
    """The aggregate rebuilt from its ``(version, topic, state)`` rows, in version order."""
    to_domain_event = mapper.to_domain_event
    return project(
        None,
        (to_domain_event(StoredEvent(originator_id, v, topic, state)) for v, topic, state in rows),
    )
