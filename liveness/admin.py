"""Django admin for every model, with the columns, filters and searches an operator reaches for.

The audit trail is read-only here (append-only by design); checks and evidence are read-only too:
they change only through the services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.timezone import localtime

from .models import AuditEvent, Case, Check, Decision, Evidence, Partner, ProviderSetting


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = (
        "round",
        "role",
        "index",
        "face_parameter",
        "content_type",
        "width",
        "height",
        "size_bytes",
        "sha256",
        "purge_after",
        "purged_at",
    )
    readonly_fields = fields


class CheckInline(ReadOnlyInline):
    model = Check
    fields = (
        "round",
        "provider",
        "status",
        "outcome",
        "score",
        "threshold",
        "passed",
        "attempts",
        "error_code",
        "latency_ms",
    )
    readonly_fields = fields


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ("created_at", "actor", "verdict", "is_override", "reason", "approval_status", "approver")
    readonly_fields = fields


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    # Webhook URLs typed without a scheme mean https (Django 6's default; webhooks refuse plain http anyway).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "slug", "is_active", "webhook_url", "allow_callback_override", "created_at")
    list_filter = ("is_active", "allow_callback_override")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    # The signing secrets are never rendered: a new one is shown once by the action below.
    exclude = ("webhook_secret", "webhook_secret_previous")
    readonly_fields = ("webhook_secret_previous_expires_at",)
    actions = ("rotate_webhook_secret",)

    @admin.action(description="Set a new webhook signing secret (shown once)", permissions=["change"])
    def rotate_webhook_secret(self, request: HttpRequest, queryset: Any) -> None:
        from django.contrib import messages

        from .services.api_keys import webhook_secret_rotate

        for partner in queryset:
            secret = webhook_secret_rotate(partner=partner, actor=request.user)  # type: ignore[arg-type]
            until = partner.webhook_secret_previous_expires_at
            overlap = (
                f" Deliveries are also signed with the previous one until {localtime(until):%Y-%m-%d %H:%M %Z}."
                if until
                else ""
            )
            self.message_user(
                request,
                f"New webhook secret for {partner.slug}.{overlap} Copy it now, it is not shown again: {secret}",
                messages.WARNING,
            )


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "kind",
        "status",
        "auto_verdict",
        "final_verdict",
        "partner",
        "external_ref",
        "created_at",
    )
    list_filter = (
        "status",
        "kind",
        "auto_verdict",
        "final_verdict",
        "partner",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("=public_id", "external_ref", "partner__name")
    date_hierarchy = "created_at"
    list_select_related = ("partner",)
    inlines = (EvidenceInline, CheckInline, DecisionInline)
    readonly_fields = [f.name for f in Case._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases come in through the API or the upload form, which validate the images


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "case",
        "provider",
        "status",
        "outcome",
        "score",
        "threshold",
        "attempts",
        "latency_ms",
        "error_code",
        "finished_at",
    )
    list_filter = ("provider", "status", "outcome", "error_code")
    search_fields = ("=case__public_id", "vendor_request_id")
    list_select_related = ("case",)
    readonly_fields = [f.name for f in Check._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "case",
        "role",
        "index",
        "content_type",
        "width",
        "height",
        "size_bytes",
        "purge_after",
        "purged_at",
    )
    list_filter = ("role", "content_type", ("purged_at", admin.EmptyFieldListFilter))
    search_fields = ("=case__public_id", "=sha256")
    list_select_related = ("case",)
    readonly_fields = [f.name for f in Evidence._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "case",
        "verdict",
        "previous_verdict",
        "is_override",
        "actor",
        "approval_status",
        "approver",
        "created_at",
    )
    list_filter = ("verdict", "is_override", "approval_status")
    search_fields = ("=case__public_id", "actor__username", "reason")
    list_select_related = ("case", "actor", "approver")
    readonly_fields = [f.name for f in Decision._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "case", "actor_label")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=case__public_id", "actor_label", "action")
    list_select_related = ("case",)
    readonly_fields = ("created_at", "action", "case", "actor", "actor_label", "data")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProviderSetting)
class ProviderSettingAdmin(admin.ModelAdmin):
    list_display = (
        "provider",
        "enabled",
        "threshold",
        "review_margin",
        "timeout_seconds",
        "max_attempts",
        "updated_at",
        "updated_by",
    )
    list_filter = ("enabled",)
    search_fields = ("provider",)
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request: HttpRequest, obj: ProviderSetting, form: Any, change: bool) -> None:
        from .services.settings import provider_setting_update

        provider_setting_update(
            provider=obj.provider,
            actor=request.user,  # type: ignore[arg-type]
            changes={f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data},
        )


# --- partner API: API keys and webhook deliveries ---

from django import forms  # noqa: E402
from django.contrib import messages  # noqa: E402
from django.db.models import QuerySet  # noqa: E402

from .models import ApiKey, WebhookAttempt, WebhookDelivery  # noqa: E402
from .services.api_keys import ApiKeyError, api_key_create, api_key_is_usable, api_key_revoke, api_key_rotate  # noqa: E402
from .services.webhooks import WebhookError, webhook_redeliver  # noqa: E402


class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "partner", "user", "expires_at")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.instance.pk is None and (cleaned.get("partner") is None) == (cleaned.get("user") is None):
            raise forms.ValidationError("Choose a partner (a partner system's key) or a user (an operator's token).")
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here and shown once, in the confirmation message; only their hash is kept."""

    form = ApiKeyAdminForm
    list_display = ("prefix", "name", "partner", "user", "usable", "created_at", "last_used_at", "expires_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "partner")
    search_fields = ("prefix", "name", "partner__name", "partner__slug", "user__username")
    list_select_related = ("partner", "user")
    actions = ("revoke_keys", "rotate_keys")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        fixed = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at", "replaced_by")
        return (*fixed, "partner", "user") if obj is not None else fixed

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the key's history (prefix, last use) stays readable

    @admin.display(boolean=True)
    def usable(self, obj: ApiKey) -> bool:
        return api_key_is_usable(obj)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            name=obj.name,
            partner=obj.partner,
            user=obj.user,
            created_by=request.user,  # type: ignore[arg-type]
            expires_at=obj.expires_at,
        )
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued.api_key, field.attname))
        self.message_user(
            request,
            f"API key {issued.api_key.prefix} created. Copy it now; it is not stored and will not be shown "
            f"again: {issued.secret}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys now", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            api_key_revoke(api_key=key, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)

    @admin.action(description="Rotate selected keys (old ones keep working for the grace period)", permissions=["add"])
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            try:
                issued = api_key_rotate(api_key=key, actor=request.user)  # type: ignore[arg-type]
            except ApiKeyError as exc:
                self.message_user(request, f"{key.prefix}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{key.prefix} rotated; its successor (copy it now, it will not be shown again): {issued.secret}",
                messages.WARNING,
            )


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    show_change_link = False
    fields = ("number", "started_at", "url", "status_code", "latency_ms", "succeeded", "error", "response_excerpt")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_id",
        "event",
        "partner",
        "case",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "partner")
    search_fields = ("=event_id", "=case__public_id", "partner__name")
    list_select_related = ("partner", "case")
    readonly_fields = [f.name for f in WebhookDelivery._meta.concrete_fields]
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False

    @admin.action(description="Redeliver selected events now (fresh retry budget)", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent = 0
        for delivery in queryset:
            try:
                webhook_redeliver(delivery=delivery, actor=request.user)  # type: ignore[arg-type]
            except WebhookError as exc:
                self.message_user(request, f"{delivery.event_id}: {exc.message}", messages.ERROR)
                continue
            sent += 1
        if sent:
            self.message_user(request, f"{sent} delivery(ies) queued again.", messages.SUCCESS)


# --- hosted verification (read-only: sessions change only through liveness.services.sessions) ---

from .models import VerificationFrame, VerificationSession  # noqa: E402


class VerificationFrameInline(ReadOnlyInline):
    model = VerificationFrame
    show_change_link = False  # frames have no admin page of their own
    fields = ("role", "prompt_index", "burst_index", "parameter", "received_at", "captured_at", "chosen", "measures")
    readonly_fields = fields


@admin.register(VerificationSession)
class VerificationSessionAdmin(admin.ModelAdmin):
    list_display = ("public_id", "partner", "kind", "status", "external_ref", "case", "expires_at", "created_at")
    list_filter = ("status", "kind", "partner")
    search_fields = ("=public_id", "external_ref", "=case__public_id")
    list_select_related = ("partner", "case")
    readonly_fields = [f.name for f in VerificationSession._meta.concrete_fields if f.name != "token_hash"]
    exclude = ("token_hash",)
    inlines = (VerificationFrameInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
