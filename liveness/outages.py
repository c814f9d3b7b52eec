"""Outages of what the portal depends on, told apart from bugs: the database, the broker, the evidence store.

An outage is answered ``503 Service Unavailable`` with ``Retry-After`` (problem+json ``service_unavailable``
over the API, a page in the console), never ``500``: the client did nothing wrong and the same request will
succeed once the dependency is back. Nothing is half-written: intake stores nothing until every image is
validated and removes what it stored when the case's rows cannot be written, in one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError

from .storage import StorageUnavailable


def outage_of(exc: BaseException | None) -> str | None:
    """ "database", "broker" or "storage" when ``exc`` (or what it was raised from) is such an outage."""
    from kombu.exceptions import OperationalError as BrokerOperationalError

    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OperationalError | InterfaceError):
            return "database"
        if isinstance(exc, BrokerOperationalError):
            return "broker"
        if isinstance(exc, StorageUnavailable):
            return "storage"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def retry_after_seconds() -> int:
    return int(settings.OUTAGE_RETRY_AFTER_SECONDS)


def outage_detail(which: str) -> str:
    what = {"database": "the database", "broker": "the task broker", "storage": "the evidence store"}[which]
    return f"{what} is unreachable for the moment; nothing was stored. Try again in {retry_after_seconds()} s"
