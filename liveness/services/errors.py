"""One error base for every refusal of a service, as HackSoft's ``ApplicationError``.

A service raises a ``ServiceError`` (or a subclass) when its rules refuse a request; nothing was changed.
Entry points translate it in one place each: the API's exception handler
(``liveness.api.exceptions.problem_exception_handler``: problem+json, status from the kind below) and the
console's ``liveness.console.access.service_error_message``. Services never know about HTTP; the kinds only
say what sort of refusal it is:

=================  =====================================================  ==========
kind               meaning                                                API status
=================  =====================================================  ==========
``ServiceError``   the input is wrong (also ``Invalid``)                  400
``PermissionDenied``  the actor may not do this                           403
``NotFound``       the thing named does not exist                         404
``Conflict``       the current state does not allow it                    409
``Stale``          (a Conflict) the state the request named moved on      409
``Unprocessable``  well-formed but refused content (an image, a reused    422
                   idempotency key)
=================  =====================================================  ==========

A family of a service (``DecisionError``, ``ClaimError`` ...) derives from ``ServiceError``; its members that
are a conflict or a refusal of permission also derive from the kind (``class DecisionConflict(DecisionError,
Conflict)``), so callers can catch either the family or the kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """A request the rules refuse. ``code`` is machine-readable, ``message`` for people, ``field`` the input
    at fault (empty for the request as a whole); ``extra`` is structured context for the answer (e.g. the
    current state of a case that moved on)."""

    def __init__(self, message: str, code: str, field: str = "", *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.extra: dict[str, Any] = dict(extra or {})

    def __str__(self) -> str:
        return self.message


class Invalid(ServiceError):
    """The input is wrong (the default meaning of a plain ServiceError too)."""


class PermissionDenied(ServiceError):
    """The actor may not do this."""


class NotFound(ServiceError):
    """The thing named does not exist (or is not visible to the actor)."""


class Conflict(ServiceError):
    """The current state does not allow this; re-read and decide again."""


class Stale(Conflict):
    """A conflict of a particular sort: the request named a state (a version) that has moved on since.
    Nothing was changed; show the current state and let the person decide again."""


class Unprocessable(ServiceError):
    """Well-formed, but the content is refused (an image, an idempotency key reused with another body)."""
