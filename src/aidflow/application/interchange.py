"""Reading interchange files (dossier, call and framework files) safely, with clear errors.

One place for the rules every file format shares: at most ``MAX_FILE_BYTES`` read
(a device or a pipe reports size 0, so reads stop one byte past the limit), UTF-8
text, JSON or YAML with YAML 1.2 booleans (the key ``on:`` stays a string) and no
aliases (nested aliases expand exponentially, "billion laughs"), bounded nesting and
integer size, and one mapping at the top. Every refusal is an :class:`InputError`
naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml

from aidflow.application.errors import InputError
from aidflow.application.yaml12 import Yaml12Loader
from aidflow.domain.errors import AidflowError

MAX_FILE_BYTES = 5 * 1024 * 1024


class NoAliasLoader(Yaml12Loader):
    """YAML 1.2 booleans, and no anchors or aliases: no interchange file needs them."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            msg = "YAML aliases (*name) are not accepted in aidflow files"
            raise yaml.composer.ComposerError(None, None, msg, event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:  # noqa: ANN401 - any YAML document
    return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def read_text(path: Path, kind: str) -> str:
    """The UTF-8 text of ``path``, at most ``MAX_FILE_BYTES``; ``kind`` names the file in errors."""
    try:
        size = path.stat().st_size
    except OSError as error:
        msg = f"cannot read {str(path)!r}: {error.strerror}"
        raise InputError(msg, field="file", value=str(path)) from None
    if size > MAX_FILE_BYTES:
        msg = f"{path.name} is {size} bytes; {kind} files are limited to {MAX_FILE_BYTES} bytes"
        raise InputError(msg, field="file", value=size)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        msg = f"cannot read {str(path)!r}: {error.strerror}"
        raise InputError(msg, field="file", value=str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        msg = f"{path.name} is more than {MAX_FILE_BYTES} bytes, the limit for a {kind} file"
        raise InputError(msg, field="file", value=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        msg = f"{path.name} is not UTF-8 text (byte {error.start}: {raw[error.start:error.start + 1]!r})"
        raise InputError(msg, field="file", value=str(path)) from None


def parse_mapping(text: str, source: str, kind: str) -> dict[str, Any]:
    """Parse JSON (or YAML, when ``source`` is not ``.json`` and the text is not JSON)."""
    data: Any
    try:
        if source.endswith((".yaml", ".yml")):
            data = load_yaml(text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                if source.endswith(".json"):
                    raise
                data = load_yaml(text)
    except json.JSONDecodeError as error:
        msg = f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise InputError(msg, field="file", value=source) from None
    except yaml.YAMLError as error:
        msg = f"{source} is not valid JSON or YAML: {str(error).splitlines()[0]}"
        raise InputError(msg, field="file", value=source) from None
    except RecursionError:
        msg = f"{source} is nested too deeply to be a {kind} file"
        raise InputError(msg, field="file", value=source) from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        msg = f"{source} holds a value aidflow cannot read: {str(error).split(':')[0]}"
        raise InputError(msg, field="file", value=source) from None
    if not isinstance(data, Mapping):
        msg = f"{source} must hold one mapping (a {kind} file), not {type(data).__name__}"
        raise InputError(msg, field="file", value=type(data).__name__)
    return dict(data)


def load_mapping(path: Path, kind: str) -> dict[str, Any]:
    """Read and parse an interchange file into plain data."""
    return parse_mapping(read_text(path, kind), path.name, kind)


def step_list(data: Mapping[str, Any], kind: str, max_steps: int, *, required: bool = True) -> list[Any]:
    """The file's ``steps``: a list of at most ``max_steps`` items."""
    steps = data.get("steps")
    if steps is None and not required:
        steps = []
    if not isinstance(steps, list):
        msg = "steps: a list of steps is required"
        raise InputError(msg, field="steps", value=type(steps).__name__)
    if len(steps) > max_steps:
        msg = f"steps: {len(steps)} steps is more than the {max_steps} a {kind} file may hold"
        raise InputError(msg, field="steps", value=len(steps))
    return steps


class FileStepRefused(AidflowError):
    """A step of an interchange file was refused; the steps before it stay recorded.

    Each file format has its own subclass (``CallStepRefused``, ``FrameworkStepRefused``) so
    that callers can tell which file a refusal came from.

    Attributes:
        index: the step's 0-based position in ``steps``.
        do: the step's verb, if it could be read.
        cause: the underlying error.
    """

    def __init__(self, index: int, do: str | None, cause: AidflowError) -> None:
        field = f"steps[{index}].{cause.field}" if cause.field else f"steps[{index}]"
        verb = f" ({do})" if do else ""
        super().__init__(f"step {index}{verb} refused at {field}: {cause.message}", field=field,
                         value=cause.value)
        self.index = index
        self.do = do
        self.cause = cause


class RefusalFactory(Protocol):
    """A file format's step-refused error: built from the step index, its ``do`` and the cause."""

    def __call__(self, index: int, do: str | None, cause: AidflowError) -> AidflowError: ...


def record_steps(
    steps: Sequence[Any],
    parse: Callable[[int, Any], Any],
    apply: Callable[[Any], object],
    refused: RefusalFactory,
    on_step: Callable[[int, Any], None] | None = None,
) -> int:
    """Record ``steps`` in file order; return how many were recorded.

    Each raw step is validated by ``parse(index, raw)`` (which raises the format's own
    refusal) and recorded by ``apply(step)``. A refusal names the step's index and stops
    the run: nothing of that step is recorded, and the steps before it stay recorded.
    """
    recorded = 0
    for index, raw in enumerate(steps):
        step = parse(index, raw)
        try:
            apply(step)
        except AidflowError as error:
            if isinstance(error, refused):  # type: ignore[arg-type]  # the factory is a class
                raise
            raise refused(index, getattr(step, "do", None), error) from None
        recorded += 1
        if on_step is not None:
            on_step(index, step)
    return recorded
