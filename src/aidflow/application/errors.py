"""Named errors of the application layer.

All derive from :class:`aidflow.domain.errors.AidflowError` and carry ``field`` and
``value``, so callers catch one base class and report the offending input.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from aidflow.domain.errors import AidflowError


class NotFound(AidflowError, LookupError):
    """Nothing is recorded under this reference."""


class SchemeNotFound(NotFound):
    pass


class ApplicationNotFound(NotFound):
    pass


class ConventionNotFound(NotFound):
    pass


class AlreadyExists(AidflowError):
    """A reference is already taken by a recorded aggregate."""


class ConcurrentUpdate(AidflowError):
    """Another writer changed the aggregate since it was read. Retry the command."""


class InputError(AidflowError, ValueError):
    """Input failed validation at the boundary (wrong type, missing or unknown field…)."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, field=field, value=value)
        self.errors = errors or []


def _loc(loc: tuple[int | str, ...], prefix: str) -> str:
    parts = [prefix] if prefix else []
    parts.extend(str(p) for p in loc)
    return ".".join(parts)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004 - display width


def input_error(error: ValidationError, prefix: str = "") -> InputError:
    """Turn a pydantic ValidationError into an InputError naming every field and value."""
    details = error.errors(include_url=False)
    lines = []
    for detail in details:
        where = _loc(detail["loc"], prefix)
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            lines.append(f"{where}: field required")
        elif detail["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field (value {_short(detail['input'])})")
        else:
            shown = _short(detail["input"])
            got = "" if shown in message else f" (got {shown})"
            lines.append(f"{where}: {message}{got}")
    first = details[0]
    return InputError(
        "; ".join(lines),
        field=_loc(first["loc"], prefix),
        value=first.get("input"),
        errors=[dict(d) for d in details],
    )
