"""Changing provider settings at run time, every change audited with before and after."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from ..models import ProviderSetting
from .audit import audit_record
from .providers import provider_setting_get

EDITABLE = ("enabled", "threshold", "review_margin", "timeout_seconds", "max_attempts")


def provider_setting_update(*, provider: str, actor: User, changes: dict[str, Any]) -> ProviderSetting:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    provider_setting_get(provider)  # make sure the row exists
    with transaction.atomic():
        setting = ProviderSetting.objects.select_for_update().get(provider=provider)
        before = {f: getattr(setting, f) for f in changes}
        for field, value in changes.items():
            setattr(setting, field, value)
        setting.full_clean()
        setting.updated_by = actor
        setting.save()
        after = {f: getattr(setting, f) for f in changes}
        if before != after:
            audit_record(
                action="provider_setting.changed",
                actor=actor,
                data={"provider": provider, "before": before, "after": after},
            )
    return setting
