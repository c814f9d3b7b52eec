"""Supervisor endpoint: the accuracy page's figures as JSON (``console.accuracy``, the same numbers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...console import accuracy
from ...console.forms import AccuracyForm
from ..exceptions import ProblemError
from ..permissions import IsSupervisorReader


class _RateSerializer(serializers.Serializer[Any]):
    value = serializers.FloatField(allow_null=True, help_text="errors / labels; null without labels")
    error_count = serializers.IntegerField()
    labels = serializers.IntegerField(help_text="How many labelled checks the rate rests on.")
    interval_95 = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True, help_text="Wilson 95 % interval."
    )


class _CountedApartSerializer(serializers.Serializer[Any]):
    findings = serializers.IntegerField()
    unscored = serializers.IntegerField()
    provider_errors = serializers.IntegerField()


class _LabelsSerializer(serializers.Serializer[Any]):
    human_live = serializers.IntegerField(help_text="Scored checks in cases a person decided live.")
    human_spoof = serializers.IntegerField(help_text="Scored checks in cases a person decided spoof.")
    human_decided_checks = serializers.IntegerField()
    automatic_only_checks = serializers.IntegerField(help_text="Checks of cases only the policy decided: no label.")
    undecided_checks = serializers.IntegerField()
    counted_apart = _CountedApartSerializer(help_text="Labelled checks left out of the rates.")


class _AsJudgedSerializer(serializers.Serializer[Any]):
    apcer = _RateSerializer()
    bpcer = _RateSerializer()


class _ReviewSerializer(serializers.Serializer[Any]):
    scored = serializers.IntegerField()
    in_band = serializers.IntegerField(help_text="Scored checks with threshold - margin <= score < threshold + margin.")
    rate = serializers.FloatField(allow_null=True)


class _CurvePointSerializer(serializers.Serializer[Any]):
    threshold = serializers.FloatField()
    apcer = serializers.FloatField(allow_null=True)
    bpcer = serializers.FloatField(allow_null=True)


class _HistogramSerializer(serializers.Serializer[Any]):
    edges = serializers.ListField(child=serializers.FloatField())
    live = serializers.ListField(child=serializers.IntegerField())
    spoof = serializers.ListField(child=serializers.IntegerField())


class _SuggestionSerializer(serializers.Serializer[Any]):
    target = serializers.ChoiceField(choices=["bpcer", "apcer"])
    target_rate = serializers.FloatField()
    threshold = serializers.FloatField(allow_null=True, help_text="null when no threshold meets the target on the data")
    apcer = _RateSerializer(allow_null=True)
    bpcer = _RateSerializer(allow_null=True)
    changed_verdicts_labelled = serializers.IntegerField()
    changed_verdicts_all = serializers.IntegerField()
    review_rate = serializers.FloatField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class _ProviderAccuracySerializer(serializers.Serializer[Any]):
    provider = serializers.CharField()
    kind = serializers.CharField()
    threshold = serializers.FloatField(help_text="The provider's current threshold, at which APCER/BPCER are read.")
    threshold_source = serializers.CharField()
    review_margin = serializers.FloatField()
    checks = serializers.IntegerField()
    labels = _LabelsSerializer()
    apcer = _RateSerializer()
    bpcer = _RateSerializer()
    as_judged = _AsJudgedSerializer(help_text="The rates at the threshold stored on each check.")
    review = _ReviewSerializer()
    curve = _CurvePointSerializer(many=True)
    histogram = _HistogramSerializer()
    suggestions = _SuggestionSerializer(many=True)


class _AgreementSerializer(serializers.Serializer[Any]):
    provider = serializers.CharField()
    checks = serializers.IntegerField()
    operators_agreed = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class _DisagreementExampleSerializer(serializers.Serializer[Any]):
    case = serializers.UUIDField()
    kind = serializers.CharField()
    human_verdict = serializers.CharField()
    passed = serializers.DictField(child=serializers.BooleanField())


class _DisagreementsSerializer(serializers.Serializer[Any]):
    cases = serializers.IntegerField()
    providers = _AgreementSerializer(many=True)
    examples = _DisagreementExampleSerializer(many=True)


class _PeriodSerializer(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    by = serializers.CharField()


class _FiltersSerializer(serializers.Serializer[Any]):
    provider = serializers.CharField(allow_null=True)
    kind = serializers.CharField(allow_null=True)


class _CasesSerializer(serializers.Serializer[Any]):
    human_decided = serializers.IntegerField()
    automatic_only = serializers.IntegerField()
    undecided = serializers.IntegerField()


class _TargetsSerializer(serializers.Serializer[Any]):
    bpcer = serializers.FloatField(allow_null=True)
    apcer = serializers.FloatField(allow_null=True)


class AccuracyReportSerializer(serializers.Serializer[Any]):
    period = _PeriodSerializer()
    filters = _FiltersSerializer()
    ground_truth = serializers.CharField()
    attack = serializers.CharField()
    bona_fide = serializers.CharField()
    accepted_when = serializers.CharField()
    cases = _CasesSerializer()
    targets = _TargetsSerializer(help_text="As fractions (0.05 = 5 %).")
    providers = _ProviderAccuracySerializer(many=True)
    disagreements = _DisagreementsSerializer()


# A day from 1900-01-01 to 9999-12-30 (the bounds the filters accept: liveness/console/forms.py).
_DAY = {
    "type": "string",
    "format": "date",
    "pattern": r"^((19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}"
    r"|9999-(0[0-9]|1[01])-[0-9]{2}|9999-12-([0-2][0-9]|30))$",
}
_PERCENT = {"type": "number", "format": "double", "minimum": 0, "maximum": 100}
_PARAMETERS = [
    OpenApiParameter("start", _DAY, description="First day (cases by day received); default end - 29 days."),
    OpenApiParameter("end", _DAY, description="Last day, inclusive; default today."),
    OpenApiParameter("provider", OpenApiTypes.STR, description="One provider key; default all."),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=["selfie", "id_document", "active"], description="One case kind."),
    OpenApiParameter(
        "target_bpcer", _PERCENT, description="Target BPCER in percent (0-100) for a suggestion; default 5."
    ),
    OpenApiParameter("target_apcer", _PERCENT, description="Target APCER in percent (0-100); default none."),
]


class AccuracyApi(APIView):
    permission_classes = (IsAuthenticated, IsSupervisorReader)

    @extend_schema(
        operation_id="supervisor_accuracy",
        summary="Error rates per provider from operators' verdicts",
        description="Per provider and case kind over a period: APCER (spoof = attack accepted) and BPCER (live = "
        "bona fide refused) at the provider's current threshold with Wilson 95 % intervals, the error-rate curve over "
        "all thresholds, score histograms, the review rate the margin produces, suggested thresholds for a target "
        "BPCER/APCER (never applied: change the provider setting to apply one), and where providers disagree. "
        "Ground truth is the final verdict a person gave; cases only the policy decided are counted apart. "
        "The same figures as the console's Accuracy page.",
        tags=["supervisor"],
        parameters=_PARAMETERS,
        responses={200: AccuracyReportSerializer},
    )
    def get(self, request: Request) -> Response:
        form = AccuracyForm(request.query_params)
        if not form.is_valid():
            errors = {
                ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
                for field, messages in form.errors.items()
            }
            raise ProblemError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="validation_error",
                detail="invalid filters: " + "; ".join(f"{f}: {' '.join(m)}" for f, m in errors.items()),
                errors=errors,
            )
        data = form.cleaned_data
        report = accuracy.accuracy_report(
            start=data["start"],
            end=data["end"],
            provider=data["provider"] or "",
            kind=data["kind"] or "",
            targets=accuracy.Targets(
                bpcer=None if data["target_bpcer"] is None else data["target_bpcer"] / 100,
                apcer=None if data["target_apcer"] is None else data["target_apcer"] / 100,
            ),
        )
        return Response(report.as_dict())
