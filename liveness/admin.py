"""Django admin for every model, with the columns, filters and searches an operator reaches for.

The audit trail is read-only here (append-only by design); checks and evidence are read-only too:
they change only through the services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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
    list_display = ("name", "slug", "is_active", "webhook_url", "allow_callback_override", "created_at")
    list_filter = ("is_active", "allow_callback_override")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    exclude = ("webhook_secret",)


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
