"""The webhooks the portal sends, as OpenAPI 3.1 ``webhooks`` (drf-spectacular's ``OpenApiWebhook``).

The bodies are the ones ``services.webhooks`` builds (``webhook_payload``, ``session_webhook_payload``); the
headers and the signature scheme are its constants and ``webhook_signature``. drf-spectacular does not carry
header parameters for a webhook, so ``add_webhook_headers`` (a postprocessing hook) adds them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from ..models import CaseKind, CaseStatus, CheckOutcome, CheckStatus, Verdict, VerificationSessionStatus
from ..services.webhooks import (
    ATTEMPT_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    EVENTS,
    SESSION_EVENTS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from ..vocabulary import FINDINGS
from .serializers import ResubmissionRequestSerializer

SIGNATURE_SCHEME = (
    f"**Signature.** `{SIGNATURE_HEADER}: v1=<hex>` is HMAC-SHA256, keyed with the partner's webhook signing "
    f"secret, over the bytes `<{TIMESTAMP_HEADER}>.<raw body>` (the timestamp header's value, a dot, the body "
    "exactly as received, before any JSON parsing). Every attempt is signed afresh with its own timestamp "
    "(Unix seconds): refuse deliveries signed more than five minutes ago. During a secret rotation's grace "
    "period the header carries two signatures, the new secret's first: `v1=<new>,v1=<previous>`; accept the "
    f"delivery when any `v1=` value matches. Deduplicate on `{EVENT_ID_HEADER}` (the same on every retry and "
    "redelivery).\n\n"
    "**Answer.** Any 2xx is success. Anything else (timeouts, 3xx, 4xx, 5xx) is retried with exponential "
    "backoff and jitter for up to a day; `410 Gone` stops at once."
)

HEADERS: dict[str, dict[str, Any]] = {
    SIGNATURE_HEADER: {
        "description": '`v1=<hex HMAC-SHA256(secret, "<Kyc-Timestamp>.<raw body>")>`; during a secret rotation '
        "two comma-separated values, the new secret's first.",
        "example": "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
    },
    TIMESTAMP_HEADER: {"description": "Unix seconds when this attempt was signed.", "example": "1767607200"},
    EVENT_ID_HEADER: {
        "description": "The event's id (as `id` in the body): the same on every retry and redelivery.",
        "format": "uuid",
    },
    EVENT_TYPE_HEADER: {"description": "The event type (as `type` in the body).", "example": "case.decided"},
    ATTEMPT_HEADER: {"description": "1 for the first attempt, counting up on retries.", "example": "1"},
}


class _Nullable(serializers.ChoiceField):
    """A choice that may be null (documentation only: these serializers never parse input)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)


class WebhookCheckSerializer(serializers.Serializer):
    provider = serializers.CharField()
    round = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    score = serializers.FloatField(allow_null=True, help_text="0..1; null when not assessed.")
    threshold = serializers.FloatField(allow_null=True)
    passed = serializers.BooleanField(allow_null=True)
    outcome = _Nullable(choices=CheckOutcome.choices)
    findings = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(FINDINGS)), help_text="Finding codes of this check."
    )


class WebhookCaseSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The case id (GET /api/v1/cases/{id}/).")
    external_ref = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    verdict = _Nullable(choices=Verdict.choices, help_text="The final verdict; `resubmit` when sent back.")
    auto_verdict = _Nullable(choices=Verdict.choices)
    reason_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Codes behind the automatic verdict (as in GET of the case)."
    )
    decision_source = serializers.ChoiceField(choices=[("automatic", "automatic"), ("operator", "operator")])
    decided_at = serializers.DateTimeField(allow_null=True)
    round = serializers.IntegerField()
    resubmission_count = serializers.IntegerField()
    resubmission_request = ResubmissionRequestSerializer(
        allow_null=True,
        help_text="With `case.resubmission_requested`: why (reason codes and the operator's text); else null.",
    )
    checks = WebhookCheckSerializer(many=True, help_text="The checks of the current round.")


class WebhookCaseDataSerializer(serializers.Serializer):
    case = WebhookCaseSerializer()


class CaseEventSerializer(serializers.Serializer):
    """The body of a case event (``services.webhooks.webhook_payload``)."""

    id = serializers.UUIDField(help_text="The event id, as the Kyc-Event-Id header.")
    type = serializers.ChoiceField(choices=[(e, e) for e in EVENTS])
    created_at = serializers.DateTimeField(help_text="When the event happened (keep the latest per case).")

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``data`` as a declared field would shadow Serializer.data.
        return {**super().get_fields(), "data": WebhookCaseDataSerializer()}


class WebhookSessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    external_ref = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=VerificationSessionStatus.choices)
    case_id = serializers.UUIDField(allow_null=True, help_text="The case the session fed, once submitted.")
    round = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class WebhookSessionDataSerializer(serializers.Serializer):
    verification_session = WebhookSessionSerializer()


class SessionEventSerializer(serializers.Serializer):
    """The body of a hosted session's event (``services.webhooks.session_webhook_payload``)."""

    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=[(e, e) for e in SESSION_EVENTS])
    created_at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "data": WebhookSessionDataSerializer()}


_RESPONSES = {
    200: OpenApiResponse(description="Received (any 2xx). Answer quickly; process afterwards."),
    410: OpenApiResponse(description="Gone: stop sending this event (no retry)."),
}

_ABOUT = {
    "case.decided": (
        "A case got its final verdict",
        "Sent once per change of final verdict: the policy's automatic verdict, an operator's decision, an "
        "approved override.",
        CaseEventSerializer,
    ),
    "case.resubmission_requested": (
        "An operator asks for new images",
        "The case waits in `resubmission_requested`; `data.case.resubmission_request` says why (reason codes and "
        "the operator's text). Answer with POST /api/v1/cases/{id}/resubmit/.",
        CaseEventSerializer,
    ),
    "verification_session.submitted": (
        "A hosted verification session was submitted",
        "The applicant finished; `case_id` names the case, whose verdict follows with `case.decided`.",
        SessionEventSerializer,
    ),
    "verification_session.expired": (
        "A hosted verification session expired",
        "The link ran out before the applicant submitted.",
        SessionEventSerializer,
    ),
}

WEBHOOKS: list[OpenApiWebhook] = [
    OpenApiWebhook(
        name=event,
        decorator=extend_schema(
            operation_id=event.replace(".", "_"),
            summary=summary,
            description=f"{about}\n\nPOSTed as JSON to the partner's webhook URL (or the case's `callback_url`).\n\n"
            + SIGNATURE_SCHEME,
            tags=["webhooks"],
            request=body,
            responses=_RESPONSES,
        ),
    )
    for event, (summary, about, body) in _ABOUT.items()
]


def add_webhook_headers(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOK: every webhook documents the headers it is sent with."""
    for path_item in result.get("webhooks", {}).values():
        for operation in path_item.values():
            operation["parameters"] = [
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "description": spec["description"],
                    "schema": {"type": "string", **({"format": spec["format"]} if "format" in spec else {})},
                    **({"example": spec["example"]} if "example" in spec else {}),
                }
                for name, spec in HEADERS.items()
            ]
    return result
