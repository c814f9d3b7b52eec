"""Input and output shapes of the API. Validation of content and business rules stays in the services;
these only check types and sizes so the services get well-formed arguments."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Case, CaseKind, Check, CheckOutcome, Decision, Verdict
from ..services import FACE_PARAMETERS
from ..services.decisions import OPERATOR_VERDICTS
from ..services.webhooks import case_resubmission_request
from ..vocabulary import FINDINGS, RESUBMISSION_REASONS

# --- input ----------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.BYTE)
class Base64ImageField(serializers.CharField):
    """An image as base64 (standard or URL-safe alphabet, padding optional, data: URI accepted)."""

    default_error_messages = {
        "invalid_base64": "not valid base64",
        "empty": "the image is empty",
        "not_base64_data_uri": "a data: URI must be base64-encoded (';base64,')",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> bytes:  # type: ignore[override]
        text = super().to_internal_value(data)
        if text.startswith("data:"):
            header, _, text = text.partition(",")
            if not header.endswith(";base64"):
                self.fail("not_base64_data_uri")
        # No size check here: an image over INTAKE_MAX_BYTES is refused by the intake with 422 `too_large`, the
        # same answer as over multipart (the body's own bound, checked before parsing, caps the memory).
        text = "".join(text.split())
        text = text.translate(str.maketrans("-_", "+/"))
        text += "=" * (-len(text) % 4)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid_base64")
        if not raw:
            self.fail("empty")
        return raw


class CaseSubmitFieldsSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    external_ref = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    country_code = serializers.CharField(
        max_length=10, required=False, allow_blank=True, default="", help_text="ID cases: ISO country code."
    )
    card_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="ID cases: the document type code."
    )
    face_parameters = serializers.ListField(
        child=serializers.ChoiceField(choices=FACE_PARAMETERS),
        required=False,
        default=list,
        max_length=64,
        help_text="Active cases: what each frame shows, one per frame, in frame order.",
    )
    success_threshold = serializers.IntegerField(
        min_value=1,
        max_value=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Active cases: how many frames must match (default: all).",
    )
    subject_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    face_gallery_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    providers = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        max_length=10,
        help_text="A subset of the enabled providers; default: the partner's workflow.",
    )
    callback_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="This case's webhook URL, if the partner is allowed to override its default.",
    )


class JsonImagesSerializer(serializers.Serializer):
    selfie = Base64ImageField(required=False, help_text="Selfie cases; optional on ID cases (JPEG or PNG).")
    id_front = Base64ImageField(required=False, help_text="ID cases: the document's front (JPEG or PNG).")
    frames = serializers.ListField(
        child=Base64ImageField(), required=False, default=list, max_length=64, help_text="Active cases."
    )


class MultipartImagesSerializer(serializers.Serializer):
    selfie = serializers.FileField(required=False, help_text="Selfie cases; optional on ID cases.")
    id_front = serializers.FileField(required=False, help_text="ID cases: the document's front.")
    frames = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=64, help_text="Active cases."
    )


class CaseSubmitJsonSerializer(CaseSubmitFieldsSerializer, JsonImagesSerializer):
    pass


class CaseSubmitMultipartSerializer(CaseSubmitFieldsSerializer, MultipartImagesSerializer):
    # A form field cannot be null: leave it out for the default (the schema no longer offers null here).
    success_threshold = serializers.IntegerField(
        min_value=1,
        max_value=64,
        required=False,
        default=None,
        help_text="Active cases: how many frames must match (default: all).",
    )


class CaseResubmitFieldsSerializer(serializers.Serializer):
    face_parameters = serializers.ListField(
        child=serializers.ChoiceField(choices=FACE_PARAMETERS),
        required=False,
        default=list,
        max_length=64,
        help_text="Active cases, optional: if given, the case's own parameters again (a resubmission answers "
        "the same challenge).",
    )


class CaseResubmitJsonSerializer(CaseResubmitFieldsSerializer, JsonImagesSerializer):
    pass


class CaseResubmitMultipartSerializer(CaseResubmitFieldsSerializer, MultipartImagesSerializer):
    pass


def _reason_codes_help() -> str:
    return "; ".join(f"`{code}`: {words}" for code, words in RESUBMISSION_REASONS.items())


class ResubmissionReasonField(serializers.ChoiceField):
    """One code of vocabulary.RESUBMISSION_REASONS."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": f'"{{input}}" is not a resubmission reason: use {", ".join(RESUBMISSION_REASONS)}'},
        )
        super().__init__(choices=list(RESUBMISSION_REASONS), **kwargs)


class DecisionInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=[(v.value, v.label) for v in OPERATOR_VERDICTS])
    reason = serializers.CharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why. Required to change a standing live/spoof verdict and for a resubmission; for a "
        "resubmission it is sent to the partner (webhook and GET of the case) as `message`.",
    )
    resubmission_reasons = serializers.ListField(
        child=ResubmissionReasonField(),
        required=False,
        default=list,
        max_length=len(RESUBMISSION_REASONS),
        help_text="With verdict `resubmit` (required there, at least one; refused with any other verdict): what "
        "the applicant should do differently, sent to the partner. " + _reason_codes_help(),
    )
    expected_version = serializers.IntegerField(
        min_value=1,
        max_value=2_147_483_647,
        required=False,
        help_text="The case `version` this decision was made on (from GET /api/v1/operator/cases/{id}/). "
        "Required unless the If-Match header carries the case's ETag; a case that moved on answers 409.",
    )


class ApprovalInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class RefusalInputSerializer(serializers.Serializer):
    """A refusal says why: the schema requires the note, as the service does."""

    note = serializers.CharField(max_length=4000, help_text="Why the override is refused (shown to the operator).")


# --- output ---------------------------------------------------------------------------------------


class BlankAsNullChoiceField(serializers.ChoiceField):
    """Empty-string choices in the database are ``null`` in the API."""

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)


class FindingSerializer(serializers.Serializer):
    """A finding: a reason in itself, never a pass (see the README's decision policy)."""

    code = serializers.ChoiceField(choices=sorted(FINDINGS), read_only=True)
    message = serializers.CharField(read_only=True)
    images = serializers.ListField(child=serializers.CharField(), read_only=True, required=False)


class CheckSerializer(serializers.ModelSerializer):
    outcome = BlankAsNullChoiceField(choices=CheckOutcome.choices, allow_null=True, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)

    class Meta:
        model = Check
        fields = (
            "provider",
            "round",
            "status",
            "score",
            "threshold",
            "review_margin",
            "passed",
            "outcome",
            "findings",
            "reason",
            "error_code",
            "attempts",
            "fallback_from",
            "fallback_reason",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


class CaseSummarySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    auto_verdict = BlankAsNullChoiceField(choices=Verdict.choices, allow_null=True, read_only=True)
    final_verdict = BlankAsNullChoiceField(choices=Verdict.choices, allow_null=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields: tuple[str, ...] = (
            "id",
            "url",
            "external_ref",
            "kind",
            "status",
            "auto_verdict",
            "final_verdict",
            "round",
            "created_at",
            "updated_at",
            "decided_at",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_url(self, case: Case) -> str:
        request = self.context.get("request")
        path = reverse("api:case-detail", kwargs={"public_id": case.public_id})
        return request.build_absolute_uri(path) if request is not None else path


class ResubmissionRequestSerializer(serializers.Serializer):
    """What an operator asked for when sending the case back (present while it waits for a resubmission)."""

    reasons = serializers.ListField(
        child=ResubmissionReasonField(), help_text="At least one code. " + _reason_codes_help()
    )
    message = serializers.CharField(help_text="The operator's free text, for the applicant.")
    requested_at = serializers.DateTimeField()
    round = serializers.IntegerField(help_text="The round that was sent back; the resubmission becomes round + 1.")


class CaseDetailSerializer(CaseSummarySerializer):
    auto_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    reason_codes = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Machine-readable codes behind the automatic verdict: findings (challenge_failed, "
        "identity_mismatch, face_mismatch, repeated_frame), the face search's (repeat_face: the face matches "
        "an earlier case under another reference; blocklisted_face; face_search_failed: decided without it) "
        "or policy codes (above_threshold, below_threshold, borderline, not_assessed, provider_error, "
        "providers_disagree, no_check).",
    )
    face_parameters = serializers.ListField(child=serializers.CharField(), read_only=True)
    providers = serializers.ListField(child=serializers.CharField(), read_only=True)
    checks = CheckSerializer(many=True, read_only=True)
    resubmission_request = serializers.SerializerMethodField(
        help_text="While the status is `resubmission_requested`: why, as reason codes and the operator's text "
        "(POST new images to the case's `resubmit/`). `null` otherwise."
    )

    class Meta(CaseSummarySerializer.Meta):
        fields = (
            *CaseSummarySerializer.Meta.fields,
            "auto_reasons",
            "reason_codes",
            "country_code",
            "card_code",
            "face_parameters",
            "success_threshold",
            "providers",
            "resubmission_count",
            "resubmission_request",
            "checks",
        )
        read_only_fields = fields

    @extend_schema_field(ResubmissionRequestSerializer(allow_null=True))
    def get_resubmission_request(self, case: Case) -> dict[str, Any] | None:
        return case_resubmission_request(case)


class CaseAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    kind = serializers.CharField()
    external_ref = serializers.CharField()
    created_at = serializers.DateTimeField()
    status_url = serializers.URLField()
    replayed = serializers.BooleanField(help_text="True when an Idempotency-Key returned an existing case.")


class DecisionSerializer(serializers.ModelSerializer):
    case = serializers.UUIDField(source="case.public_id", read_only=True)
    case_status = serializers.CharField(source="case.status", read_only=True)
    actor = serializers.CharField(source="actor.get_username", read_only=True)
    approver = serializers.SerializerMethodField()
    previous_verdict = BlankAsNullChoiceField(choices=Verdict.choices, allow_null=True, read_only=True)
    resubmission_reasons = serializers.ListField(
        child=ResubmissionReasonField(), read_only=True, help_text="For a resubmission: why (reason codes)."
    )

    class Meta:
        model = Decision
        fields = (
            "id",
            "case",
            "case_status",
            "verdict",
            "previous_verdict",
            "reason",
            "resubmission_reasons",
            "is_override",
            "approval_status",
            "actor",
            "approver",
            "approval_note",
            "created_at",
            "decided_at",
        )
        read_only_fields = fields

    def get_approver(self, decision: Decision) -> str | None:
        return decision.approver.get_username() if decision.approver else None


class PartnerRefSerializer(serializers.Serializer):
    slug = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)


class OperatorCaseSerializer(CaseDetailSerializer):
    version = serializers.IntegerField(
        read_only=True,
        help_text="Bumped on every change of status, final verdict, deciding operator or claim holder; name it "
        "as `expected_version` (or If-Match: the ETag) when deciding.",
    )
    partner = serializers.SerializerMethodField()
    pending_decision = serializers.SerializerMethodField()

    class Meta(CaseDetailSerializer.Meta):
        fields = (*CaseDetailSerializer.Meta.fields, "version", "partner", "pending_decision")
        read_only_fields: tuple[str, ...] = fields

    def get_url(self, case: Case) -> str:
        request = self.context.get("request")
        path = reverse("api:operator-case", kwargs={"public_id": case.public_id})
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(PartnerRefSerializer(allow_null=True))
    def get_partner(self, case: Case) -> dict[str, str] | None:
        return {"slug": case.partner.slug, "name": case.partner.name} if case.partner else None

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_pending_decision(self, case: Case) -> dict[str, Any] | None:
        pending = [d for d in case.decisions.all() if d.approval_status == "pending"]
        return dict(DecisionSerializer(pending[0], context=self.context).data) if pending else None


class HealthComponentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("ok", "ok"), ("error", "error")])
    latency_ms = serializers.IntegerField()
    error = serializers.CharField(required=False)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("ok", "ok"), ("error", "error")])
    checks = serializers.DictField(child=HealthComponentSerializer())


class HealthLiveSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='Always "ok": an answer at all is the signal.')
