"""Named domain errors.

Every error carries the field it is about and the offending value, so that the
application layer, the dossier runner and the CLI can report *what* was refused
without parsing messages.
"""

from __future__ import annotations


class AidflowError(Exception):
    """Base of every error aidflow raises on purpose.

    Attributes:
        field: dotted name of the input field the error is about, if any.
        value: the offending value (as given), if any.
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


class InvalidValue(AidflowError, ValueError):
    """A value object was given a value it cannot hold (bad SIREN, negative amount…)."""


class DomainRuleViolation(AidflowError):
    """A command is not allowed by the rules or by the aggregate's current state."""


class InvalidTransition(DomainRuleViolation):
    """The aggregate's status does not allow this command (e.g. paying before signature)."""


class CeilingExceeded(DomainRuleViolation):
    """An amount exceeds a ceiling: the scheme's, the award's, or a state-aid cap."""


class DateOutOfOrder(DomainRuleViolation):
    """A business date precedes a milestone it depends on."""


class NotAdmitted(DomainRuleViolation):
    """The applicant's kind, size or headcount is not admitted by the scheme."""
