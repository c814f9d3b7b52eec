"""The one small interface every liveness provider implements.

A provider turns a :class:`CheckRequest` (plain data: the images and case fields it needs) into a
:class:`ProviderResult` (a normalised score and details), or raises a :class:`ProviderError` that says
whether trying again may help. Providers never touch the ORM; services never build HTTP requests.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..vocabulary import FINDINGS


@dataclass(frozen=True)
class EvidenceImage:
    """One decrypted image handed to a provider."""

    role: str  # selfie | id_front | frame
    index: int
    content: bytes
    content_type: str  # image/jpeg | image/png
    width: int
    height: int
    face_parameter: str = ""

    @property
    def filename(self) -> str:
        ext = "png" if self.content_type == "image/png" else "jpg"
        return f"{self.role}-{self.index}.{ext}"


@dataclass(frozen=True)
class CheckRequest:
    """Everything a provider may need about one check, as plain data."""

    check_id: int
    case_id: str
    kind: str  # selfie | id_document | active
    images: Sequence[EvidenceImage]
    threshold: float
    timeout: float
    country_code: str = ""
    card_code: str = ""
    face_parameters: Sequence[str] = ()
    success_threshold: int | None = None
    subject_id: str = ""
    face_gallery_id: str = ""

    def images_with_role(self, role: str) -> list[EvidenceImage]:
        return [image for image in self.images if image.role == role]


@dataclass(frozen=True)
class Finding:
    """Something a provider established that is a reason on its own (``vocabulary.FINDINGS``), not a score:
    the policy never counts a check with a finding as a pass."""

    code: str
    message: str
    #: The images it concerns, as labels ("selfie", "id_front", "frame 2"), where it names some.
    images: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in FINDINGS:
            raise ValueError(f"unknown finding {self.code!r}; known: {', '.join(FINDINGS)}")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"images": list(self.images)} if self.images else {})}


@dataclass
class ProviderResult:
    """A provider's normalised answer.

    ``score`` is 0..1 (higher = more likely live) or None when the provider could not assess the
    evidence (no face, passive detection unavailable …); ``reason`` then says why. ``details`` is
    the normalised detail the console and the API show (faces, boxes, quality, pose, eyes, mouth).
    """

    score: float | None
    vendor_label: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    raw_response: Any = None
    vendor_request_id: str = ""
    latency_ms: int | None = None
    #: The threshold in force for this one request when the vendor sets it per request (Riset: the
    #: case's success_threshold / frames). None: the provider setting's threshold applies.
    threshold: float | None = None
    #: Findings (challenge_failed, identity_mismatch, face_mismatch, repeated_frame): reasons, not scores.
    findings: tuple[Finding, ...] = ()

    def __post_init__(self) -> None:
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be within 0..1, got {self.score!r}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be within 0..1, got {self.threshold!r}")
        if self.score is None and not self.reason:
            raise ValueError("a result without a score must say why (reason)")


class ProviderError(Exception):
    """A provider call that produced no result. ``retryable`` decides retry vs give up."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str = "provider_error",
        raw_body: str = "",
        status_code: int | None = None,
        vendor_request_id: str = "",
        latency_ms: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.raw_body = raw_body
        self.status_code = status_code
        self.vendor_request_id = vendor_request_id
        self.latency_ms = latency_ms
        #: Seconds the vendor asked us to wait (its Retry-After header), when it said.
        self.retry_after = retry_after


class RetryableProviderError(ProviderError):
    """Timeouts, connection errors, 5xx, 429, usage limits: worth another try later."""

    retryable = True


class PermanentProviderError(ProviderError):
    """Bad input, auth failure, unparseable body: trying again gives the same answer."""

    retryable = False


class ProviderInputError(PermanentProviderError):
    """The evidence does not meet the provider's documented input rules (found before any call)."""


class Provider(abc.ABC):
    """Base class of all providers. Subclasses set the class attributes and implement :meth:`check`."""

    key: ClassVar[str]
    label: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    default_threshold: ClassVar[float]
    default_review_margin: ClassVar[float] = 0.05
    #: "vendor" providers call out over HTTP; "local" ones run in-process.
    is_remote: ClassVar[bool] = False
    #: A heuristic provider is labelled as such wherever its score is shown.
    is_heuristic: ClassVar[bool] = False
    #: What this provider's 0..1 score is, in one sentence (the console's provider settings explain the
    #: threshold and margin with it).
    score_meaning: ClassVar[str] = ""

    def is_configured(self) -> bool:
        """True when the credentials / files this provider needs are present."""
        return True

    def configuration_problem(self) -> str:
        """A human-readable reason why the provider is not usable, or ''."""
        return "" if self.is_configured() else "not configured"

    def supports(self, kind: str) -> bool:
        return kind in self.kinds

    @abc.abstractmethod
    def check(self, request: CheckRequest) -> ProviderResult:
        """Assess the evidence. Raises ProviderError subclasses on failure."""


def redact(value: Any, secrets: Sequence[str], *, secret_keys: Sequence[str] = ()) -> Any:
    """Return ``value`` with every secret string and every value under a secret-named key removed.

    Used on raw vendor responses and request descriptions before they are stored or shown.
    """
    needles = [s for s in secrets if s]
    lowered_keys = {k.lower() for k in secret_keys}
    if isinstance(value, Mapping):
        return {
            k: ("[redacted]" if str(k).lower() in lowered_keys else redact(v, needles, secret_keys=secret_keys))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, needles, secret_keys=secret_keys) for v in value]
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, "[redacted]")
        return value
    return value
