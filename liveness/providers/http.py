"""Vendors over HTTP. Every vendor call goes through :func:`send`, which uses the portal's one outbound seam
(:mod:`liveness.outbound`) and turns its transport errors into retryable provider errors.

Vendor adapters subclass :class:`HttpProvider`: they *build* an :class:`OutboundRequest` from the
check request, and *parse* a successful response into a ProviderResult. Classifying failures into
retryable and permanent happens here once, with a hook for vendor quirks (Kairos' 403 = usage limit).
"""

from __future__ import annotations

import abc
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from .. import outbound
from ..outbound import HttpResponse, OutboundRequest
from .base import (
    CheckRequest,
    PermanentProviderError,
    Provider,
    ProviderError,
    ProviderResult,
    RetryableProviderError,
    redact,
)

logger = logging.getLogger(__name__)

#: Keep at most this much of an error body for the operator (vendor bodies can be large).
MAX_KEPT_BODY = 8192


def send(request: OutboundRequest, *, timeout: float) -> HttpResponse:
    """A vendor call through the portal's one outbound seam; no answer at all is worth another try later."""
    try:
        return outbound.send(request, timeout=timeout)
    except outbound.TransportError as exc:
        raise RetryableProviderError(exc.message, code=exc.code, latency_ms=exc.latency_ms) from exc


def retry_after(response: HttpResponse) -> float | None:
    """The vendor's Retry-After (delta-seconds or an HTTP date) in seconds, or None if absent/unreadable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HttpProvider(Provider):
    """A provider reached over HTTP: subclasses implement build() and parse()."""

    is_remote = True
    #: Header names whose values are secrets (removed from anything stored or shown).
    secret_headers: ClassVar[tuple[str, ...]] = ()
    #: Response header carrying the vendor's request id, when it has one.
    request_id_header: ClassVar[str] = ""

    @abc.abstractmethod
    def build(self, request: CheckRequest) -> OutboundRequest:
        """Turn the check request into the vendor's documented HTTP request."""

    @abc.abstractmethod
    def parse(self, response: HttpResponse, request: CheckRequest) -> ProviderResult:
        """Turn a 2xx vendor response into a normalised result (PermanentProviderError if unparseable)."""

    def secrets(self) -> list[str]:
        """The credential values to scrub from stored bodies."""
        return []

    def classify(self, response: HttpResponse) -> ProviderError | None:
        """Map a non-success response to a typed error; None means 'parse it'."""
        status = response.status_code
        body = self.redacted_text(response)
        request_id = response.headers.get(self.request_id_header, "") if self.request_id_header else ""
        common: dict[str, Any] = {
            "raw_body": body,
            "status_code": status,
            "vendor_request_id": request_id,
            "latency_ms": response.latency_ms,
        }
        if 200 <= status < 300:
            return None
        if status == 429:
            return RetryableProviderError(
                "rate limited by the vendor (429)", code="rate_limited", retry_after=retry_after(response), **common
            )
        if status >= 500:
            return RetryableProviderError(
                f"vendor server error ({status})", code="vendor_5xx", retry_after=retry_after(response), **common
            )
        if status in (401, 403):
            return PermanentProviderError(f"vendor refused the credentials ({status})", code="auth", **common)
        return PermanentProviderError(f"vendor rejected the request ({status})", code="vendor_4xx", **common)

    def redacted_text(self, response: HttpResponse) -> str:
        text: str = redact(response.text[:MAX_KEPT_BODY], self.secrets())
        return text

    def redacted_json(self, payload: Any) -> Any:
        return redact(payload, self.secrets())

    def annotate(self, result: ProviderResult, response: HttpResponse) -> None:
        """Hook: add what the response says beyond its body (a header) to a parsed result."""

    def check(self, request: CheckRequest) -> ProviderResult:
        outbound = self.build(request)
        response = send(outbound, timeout=request.timeout)
        try:
            result = self._parsed(response, request)
        except ProviderError as exc:
            # Vendors put their own text in error messages (and may echo a credential there); the message is
            # stored on the check, shown to operators and logged, so it is scrubbed like the raw body.
            exc.message = redact(exc.message, self.secrets())
            exc.args = (exc.message,)
            raise
        # Parsed details and labels carry vendor text too (Accura's message, Riset's status_message).
        result.details = self.redacted_json(result.details)
        result.vendor_label = redact(result.vendor_label, self.secrets())
        result.latency_ms = response.latency_ms
        if outbound.notes:
            result.details.setdefault("request", outbound.notes)
        if not result.vendor_request_id and self.request_id_header:
            result.vendor_request_id = response.headers.get(self.request_id_header, "")
        self.annotate(result, response)
        return result

    def _parsed(self, response: HttpResponse, request: CheckRequest) -> ProviderResult:
        error = self.classify(response)
        if error is not None:
            raise error
        try:
            return self.parse(response, request)
        except ProviderError as exc:
            exc.latency_ms = exc.latency_ms or response.latency_ms
            exc.raw_body = exc.raw_body or self.redacted_text(response)
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentProviderError(
                f"unparseable vendor response: {exc}",
                code="unparseable",
                raw_body=self.redacted_text(response),
                status_code=response.status_code,
                latency_ms=response.latency_ms,
            ) from exc


__all__ = ["MAX_KEPT_BODY", "HttpProvider", "HttpResponse", "OutboundRequest", "retry_after", "send"]
