"""What every vendor adapter shares: configuration from the environment and strict JSON reading.

Adapters read their base URL and credentials from Django settings (filled from the environment) at call
time, never from the database, so a provider is usable exactly when its settings are present.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings

from ..providers.base import PermanentProviderError, ProviderInputError, ProviderResult
from ..providers.http import HttpProvider, HttpResponse

#: Sent by the portal's own simulators only (liveness.sandbox): what the answer was based on.
SANDBOX_BASIS_HEADER = "X-Sandbox-Basis"
SANDBOX_QUALITY_ONLY_LABEL = (
    "sandbox simulator without a passive attack model: scored on image quality alone, not a liveness measurement"
)


class VendorProvider(HttpProvider):
    """An HttpProvider configured by ``<VENDOR>_BASE_URL`` plus credential settings."""

    #: Name of the setting holding the vendor's host part, e.g. ``https://api.accurascan.com``.
    base_url_setting: ClassVar[str]
    #: Names of the settings holding credentials (all must be non-empty).
    credential_settings: ClassVar[tuple[str, ...]]
    #: The documented path, appended to the base URL.
    path: ClassVar[str]

    def base_url(self) -> str:
        return str(getattr(settings, self.base_url_setting, "") or "").rstrip("/")

    def credential(self, name: str) -> str:
        return str(getattr(settings, name, "") or "")

    def url(self) -> str:
        return self.base_url() + self.path

    def configuration_problem(self) -> str:
        missing = [name for name in (self.base_url_setting, *self.credential_settings) if not self.credential(name)]
        return f"not configured: set {', '.join(missing)}" if missing else ""

    def is_configured(self) -> bool:
        return not self.configuration_problem()

    def secrets(self) -> list[str]:
        return [value for value in (self.credential(name) for name in self.credential_settings) if value]

    def annotate(self, result: ProviderResult, response: HttpResponse) -> None:
        # In the demo the "vendor" is our simulator; when it could not look for attacks its score is a
        # constant by image quality, and the console must label that like any other heuristic score.
        basis = response.headers.get(SANDBOX_BASIS_HEADER, "")
        if not basis:
            return
        result.details["sandbox_basis"] = basis
        if basis == "quality-only":
            result.details["heuristic"] = True
            result.details["heuristic_label"] = SANDBOX_QUALITY_ONLY_LABEL

    def json_object(self, response: HttpResponse) -> dict[str, Any]:
        """The response body as a JSON object, or a permanent error that keeps the body for the operator."""
        content_type = response.headers.get("Content-Type", "")
        if content_type and "json" not in content_type.lower():
            raise PermanentProviderError(
                f"the vendor answered {response.status_code} with {content_type.split(';')[0]!r}, not JSON",
                code="unexpected_content_type",
                raw_body=self.redacted_text(response),
                status_code=response.status_code,
            )
        try:
            payload = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PermanentProviderError(
                f"the vendor's body is not valid JSON ({exc})",
                code="unparseable",
                raw_body=self.redacted_text(response),
                status_code=response.status_code,
            ) from exc
        if not isinstance(payload, dict):
            raise self.unparseable(response, f"expected a JSON object, got {type(payload).__name__}")
        return payload

    def unparseable(self, response: HttpResponse, message: str) -> PermanentProviderError:
        return PermanentProviderError(
            f"unexpected vendor response: {message}",
            code="unparseable",
            raw_body=self.redacted_text(response),
            status_code=response.status_code,
        )


def require_image(images: list[Any], *, role: str, provider: str) -> Any:
    if not images:
        raise ProviderInputError(f"{provider} needs a {role} image and the case has none", code="no_evidence")
    return images[0]


def number(value: Any) -> float | None:
    """A finite JSON number (bools are not numbers here), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    as_float = float(value)
    return as_float if math.isfinite(as_float) else None


def mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None
