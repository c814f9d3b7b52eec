"""Console forms. They parse and shape input; the rules (reasons, limits, thresholds) live in services."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..countries import UnknownCountry, normalise_country_code
from ..models import (
    REVIEW_MARGIN_BOUNDS,
    THRESHOLD_BOUNDS,
    CaseKind,
    CaseStatus,
    EvidenceRole,
    Partner,
    Verdict,
    WebhookDeliveryStatus,
)
from ..providers import provider_keys
from ..services import FACE_PARAMETERS, IncomingImage
from ..services.webhooks import EVENTS as WEBHOOK_EVENTS
from ..vocabulary import RESUBMISSION_REASONS
from .selectors import CONSOLE_PARTNER, DeliveryFilters, QueueFilters


def _blank(choices: Any, label: str = "any") -> list[tuple[str, str]]:
    return [("", label), *[(str(v), str(lbl)) for v, lbl in choices]]


def _attrs(attrs: dict[str, Any]) -> SafeString:
    """Attributes as django/forms/widgets/attrs.html writes them: in order, True bare, False left out."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", k) if v is True else format_html(' {}="{}"', k, v),)
            for k, v in attrs.items()
            if v is not False
        ),
    )


class QuickSelect(forms.Select):
    """A ``<select>`` drawn in Python instead of through Django's widget templates (one template render
    per option: the queue's filter bar, with a partner list, cost the page more than its SQL did). Which
    option is selected is Django's own logic (``optgroups``); tests/test_console_queue_rows.py compares
    the markup with the stock widget's. Flat choices only (no option groups)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        options = (
            (str(option["value"]), _attrs(option["attrs"]), option["label"])
            for _, group, _ in self.optgroups(name, self.format_value(value), final)
            for option in group
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            _attrs(final),
            format_html_join("", '<option value="{}"{}>{}</option>', options),
        )


#: The dates a filter may name. A day is turned into an aware [00:00, next day 00:00) range and the
#: dashboard counts back 13 days from its end: near the calendar's ends that arithmetic overflows (a 500).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9999, 12, 30)
_DATE_BOUNDS = [MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)]


class QueueFilterForm(forms.Form):
    """GET filters of the review queue. Invalid values are dropped, never an error page."""

    q = forms.CharField(required=False, max_length=200, label="Case id or partner reference")
    status = forms.ChoiceField(required=False, widget=QuickSelect, choices=_blank(CaseStatus.choices))
    kind = forms.ChoiceField(required=False, widget=QuickSelect, choices=_blank(CaseKind.choices))
    provider = forms.ChoiceField(required=False, widget=QuickSelect)
    partner = forms.ChoiceField(required=False, widget=QuickSelect)
    auto_verdict = forms.ChoiceField(
        required=False, widget=QuickSelect, choices=_blank(Verdict.choices), label="Automatic verdict"
    )
    final_verdict = forms.ChoiceField(
        required=False, widget=QuickSelect, choices=_blank(Verdict.choices), label="Final verdict"
    )
    created_from = forms.DateField(
        required=False, label="From", validators=_DATE_BOUNDS, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        required=False, label="To", validators=_DATE_BOUNDS, widget=forms.DateInput(attrs={"type": "date"})
    )
    claim = forms.ChoiceField(
        required=False,
        widget=QuickSelect,
        choices=[("", "anyone's"), ("mine", "claimed by me"), ("unclaimed", "unclaimed")],
    )

    def __init__(self, *args: Any, partners: list[Partner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = _blank((k, k) for k in provider_keys())  # type: ignore[attr-defined]
        self.fields["partner"].choices = _blank(  # type: ignore[attr-defined]
            [(CONSOLE_PARTNER, "console uploads"), *((str(p.pk), p.name) for p in partners)]
        )

    def filters(self) -> QueueFilters:
        if not self.is_bound:
            return QueueFilters()
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return QueueFilters(
            status=data.get("status") or "",
            kind=data.get("kind") or "",
            provider=data.get("provider") or "",
            partner=data.get("partner") or "",
            auto_verdict=data.get("auto_verdict") or "",
            final_verdict=data.get("final_verdict") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            q=(data.get("q") or "").strip(),
            claim=data.get("claim") or "",
        )


class DeliveryFilterForm(forms.Form):
    """GET filters of the webhook delivery list. Invalid values are dropped, never an error page."""

    status = forms.ChoiceField(required=False, choices=_blank(WebhookDeliveryStatus.choices))
    partner = forms.ChoiceField(required=False)
    event = forms.ChoiceField(required=False, choices=_blank((e, e) for e in WEBHOOK_EVENTS))

    def __init__(self, *args: Any, partners: list[Partner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = _blank((str(p.pk), p.name) for p in partners)  # type: ignore[attr-defined]

    def filters(self) -> DeliveryFilters:
        if not self.is_bound:
            return DeliveryFilters()
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return DeliveryFilters(
            status=data.get("status") or "", partner=data.get("partner") or "", event=data.get("event") or ""
        )


class DecisionForm(forms.Form):
    verdict = forms.ChoiceField(
        choices=[
            (Verdict.LIVE, "Approve — live"),
            (Verdict.SPOOF, "Reject — spoof"),
            (Verdict.RESUBMIT, "Request resubmission"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    # Required for a resubmission (the service's rule, so the API and the bulk action say the same).
    resubmission_reasons = forms.MultipleChoiceField(
        required=False,
        choices=[(code, code.replace("_", " ")) for code in RESUBMISSION_REASONS],
        widget=forms.CheckboxSelectMultiple,
        label="What to fix (for a resubmission; sent to the partner with the reason)",
    )
    # The Case.version the page showed: a decision names the state it was made on (services.decision_record).
    expected_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={"required": "the page is out of date: reload it and decide again"},
    )
    # Decide-and-open-next (the default): after deciding, the next case of the operator's queue opens.
    open_next = forms.BooleanField(required=False, label="Then open the next case")


class ReviewForm(forms.Form):
    """A supervisor's answer to a pending override; the note is required to refuse (service rule)."""

    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class BulkForm(forms.Form):
    """A supervisor's action on the cases ticked in the queue (``cases``: their public ids)."""

    MAX_CASES = 500

    action = forms.ChoiceField(choices=[("assign", "Assign to"), ("resubmit", "Request resubmission")])
    assignee = forms.IntegerField(required=False)
    reason = forms.CharField(required=False, max_length=2000)
    resubmission_reasons = forms.MultipleChoiceField(
        required=False, choices=[(code, code.replace("_", " ")) for code in RESUBMISSION_REASONS]
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        raw = self.data.getlist("cases") if hasattr(self.data, "getlist") else []
        ids: list[uuid.UUID] = []
        for value in raw:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                raise forms.ValidationError("the selection contains something that is not a case id") from None
        if not ids:
            raise forms.ValidationError("tick at least one case")
        if len(ids) > self.MAX_CASES:
            raise forms.ValidationError(f"at most {self.MAX_CASES} cases at once")
        cleaned["cases"] = list(dict.fromkeys(ids))
        if cleaned.get("action") == "assign" and not cleaned.get("assignee"):
            self.add_error("assignee", "choose whom to assign the cases to")
        return cleaned


class DateRangeForm(forms.Form):
    """The dashboard's date range, inclusive; defaults to the last 14 days."""

    MAX_DAYS = 366

    start = forms.DateField(required=False, validators=_DATE_BOUNDS, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, validators=_DATE_BOUNDS, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        end: date = cleaned.get("end") or today
        start: date = cleaned.get("start") or end - timedelta(days=13)
        if start > end:
            raise forms.ValidationError("the start date is after the end date")
        if (end - start).days >= self.MAX_DAYS:
            raise forms.ValidationError(f"choose at most {self.MAX_DAYS} days")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


def _number_errors(what: str, low: float | None = None, high: float | None = None) -> dict[str, str]:
    """Error messages that say what the number is and where it must lie, in words."""
    where = f"between {low:g} and {high:g}" if low is not None and high is not None else ""
    return {
        "required": f"enter the {what}",
        "invalid": f"the {what} must be a number" + (f" {where}" if where else ""),
        "min_value": f"the {what} must be {where or 'at least %(limit_value)s'}",
        "max_value": f"the {what} must be {where or 'at most %(limit_value)s'}",
    }


class ProviderSettingForm(forms.Form):
    """Parses the numbers and refuses, in words, any value outside the model's bounds (THRESHOLD_BOUNDS,
    REVIEW_MARGIN_BOUNDS, a positive timeout), so nobody ever sees a database constraint's name. The
    service checks the same constraints again (full_clean) for every other caller."""

    enabled = forms.BooleanField(
        required=False, help_text="Off: new cases are not sent to this provider (checks already queued still run)."
    )
    threshold = forms.FloatField(
        min_value=THRESHOLD_BOUNDS[0],
        max_value=THRESHOLD_BOUNDS[1],
        error_messages=_number_errors("threshold", *THRESHOLD_BOUNDS),
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="A check passes when its score is at or above the threshold (0 to 1).",
    )
    review_margin = forms.FloatField(
        min_value=REVIEW_MARGIN_BOUNDS[0],
        max_value=REVIEW_MARGIN_BOUNDS[1],
        error_messages=_number_errors("review margin", *REVIEW_MARGIN_BOUNDS),
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text=(
            "Scores within this distance of the threshold are borderline: the case goes to a person instead of "
            "being decided automatically (0 to 0.5; 0 turns the band off)."
        ),
    )
    timeout_seconds = forms.FloatField(
        error_messages=_number_errors("timeout"),
        widget=forms.NumberInput(attrs={"step": "0.1"}),
        help_text="How long one call to the provider may take before it counts as failed and is retried.",
    )
    max_attempts = forms.IntegerField(
        min_value=1,
        max_value=20,
        error_messages=_number_errors("number of attempts", 1, 20),
        help_text="Attempts per check (the first call and its retries) before the check is given up as failed.",
    )

    def clean_timeout_seconds(self) -> float:
        value: float = self.cleaned_data["timeout_seconds"]
        if not value > 0:  # the model's providersetting_timeout_pos
            raise forms.ValidationError("the timeout must be more than 0 seconds")
        return value


PARAMETER_CHOICES = [("", "— parameter —"), *((p, p) for p in FACE_PARAMETERS)]


class ImageFileField(forms.FileField):
    """A file refused by its size before any of it is read (the upload handler knows the size)."""

    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        limit = settings.INTAKE_MAX_BYTES
        if upload is not None and getattr(upload, "size", 0) > limit:
            raise forms.ValidationError(
                f"{upload.size} bytes is over the limit of {limit} bytes per image", code="too_large"
            )
        return upload


class UploadForm(forms.Form):
    """A case from the console: one selfie, an ID document (+ optional selfie), or active frames."""

    kind = forms.ChoiceField(choices=CaseKind.choices, widget=forms.RadioSelect, initial=CaseKind.SELFIE)
    external_ref = forms.CharField(required=False, max_length=200, label="Reference (optional)")
    selfie = ImageFileField(required=False, label="Selfie")
    id_front = ImageFileField(required=False, label="ID document (front)")
    id_selfie = ImageFileField(required=False, label="Selfie to match (optional)")
    country_code = forms.CharField(
        required=False,
        max_length=10,
        label="Country code",
        help_text=(
            "The country that issued the document: ISO 3166-1 alpha-2 (DE), alpha-3 (DEU) or numeric (276), or "
            "the code printed in the document's machine-readable zone (D, UTO). Stored as the 3-letter code."
        ),
    )
    card_code = forms.CharField(
        required=False,
        max_length=40,
        label="Card code",
        help_text=(
            "The document type as the ID-document provider (Accura) names it in its list of supported documents "
            "for that country; sent to Accura unchanged. Other providers do not use it."
        ),
    )
    success_threshold = forms.IntegerField(
        required=False, min_value=1, label="Frames that must match (optional; default all)"
    )

    #: Files kept from an earlier refused POST, by field (set by the view; upload_drafts.KeptFile).
    kept: dict[str, Any]

    @classmethod
    def file_fields(cls) -> list[str]:
        return ["selfie", "id_front", "id_selfie", *(f"frame_{i}" for i in range(settings.INTAKE_MAX_FRAMES))]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept = {}
        self.frame_count = settings.INTAKE_MAX_FRAMES
        for i in range(self.frame_count):
            self.fields[f"frame_{i}"] = ImageFileField(required=False, label=f"Frame {i + 1}")
            self.fields[f"parameter_{i}"] = forms.ChoiceField(
                required=False, choices=PARAMETER_CHOICES, label=f"Parameter {i + 1}"
            )

    def frame_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, Any]]:
        return [
            (self[f"frame_{i}"], self[f"parameter_{i}"], self.kept.get(f"frame_{i}")) for i in range(self.frame_count)
        ]

    def clean(self) -> dict[str, Any]:
        """Every missing or wrong field of the chosen kind at once (the service would stop at the first)."""
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == CaseKind.SELFIE and not cleaned.get("selfie") and "selfie" not in self.errors:
            self.add_error("selfie", "choose the selfie image")
        elif kind == CaseKind.ID_DOCUMENT:
            if not cleaned.get("id_front") and "id_front" not in self.errors:
                self.add_error("id_front", "choose the ID document image")
            country = (cleaned.get("country_code") or "").strip()
            if not country:
                self.add_error("country_code", "enter the country that issued the document, e.g. DE or DEU")
            else:
                try:
                    normalise_country_code(country)
                except UnknownCountry as exc:
                    self.add_error("country_code", str(exc))
            if not (cleaned.get("card_code") or "").strip():
                self.add_error("card_code", "enter the card code of the document type (see below)")
        elif kind == CaseKind.ACTIVE:
            frames = [i for i in range(self.frame_count) if cleaned.get(f"frame_{i}")]
            if not frames:
                self.add_error("frame_0", "add at least one frame")
            for i in frames:
                if not cleaned.get(f"parameter_{i}"):
                    self.add_error(f"parameter_{i}", "say which parameter this frame answers")
            for i in range(self.frame_count):
                if cleaned.get(f"parameter_{i}") and not cleaned.get(f"frame_{i}"):
                    self.add_error(f"frame_{i}", "a parameter without a frame")
        return cleaned

    def images(self) -> list[tuple[str, IncomingImage]]:
        """The chosen images in the order the service gets them, each with the form field it came from."""
        kind = self.cleaned_data["kind"]
        chosen: list[tuple[str, IncomingImage]] = []

        def read(name: str) -> bytes:
            upload: UploadedFile = self.cleaned_data[name]
            return b"".join(upload.chunks())

        if kind == CaseKind.SELFIE:
            chosen.append(("selfie", IncomingImage(role=EvidenceRole.SELFIE, data=read("selfie"), label="selfie")))
        elif kind == CaseKind.ID_DOCUMENT:
            chosen.append(
                ("id_front", IncomingImage(role=EvidenceRole.ID_FRONT, data=read("id_front"), label="ID document"))
            )
            if self.cleaned_data.get("id_selfie"):
                chosen.append(
                    ("id_selfie", IncomingImage(role=EvidenceRole.SELFIE, data=read("id_selfie"), label="selfie"))
                )
        else:
            index = 0
            for i in range(self.frame_count):
                if self.cleaned_data.get(f"frame_{i}"):
                    chosen.append(
                        (
                            f"frame_{i}",
                            IncomingImage(
                                role=EvidenceRole.FRAME,
                                data=read(f"frame_{i}"),
                                index=index,
                                face_parameter=self.cleaned_data[f"parameter_{i}"],
                                label=f"frame {i + 1}",
                            ),
                        )
                    )
                    index += 1
        return chosen


class AccuracyForm(DateRangeForm):
    """The accuracy page's filters (period by case received, provider, kind) and the targets, in percent.

    Defaults: the last 30 days, BPCER target 5 %, no APCER target. Bad values are a 400 with the reason.
    """

    DEFAULT_DAYS = 30

    provider = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=_blank(CaseKind.choices))
    target_bpcer = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        label="Target BPCER %",
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    target_apcer = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        label="Target APCER %",
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = _blank((key, key) for key in provider_keys())  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        raw_start = self.data.get("start") if self.data else None
        cleaned = super().clean()
        if not raw_start and "end" in cleaned and not self.errors:
            cleaned["start"] = cleaned["end"] - timedelta(days=self.DEFAULT_DAYS - 1)
        if cleaned.get("target_bpcer") is None and not (self.data and "target_bpcer" in self.data):
            cleaned["target_bpcer"] = 5.0
        return cleaned
