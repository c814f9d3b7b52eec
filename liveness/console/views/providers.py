"""Provider settings (supervisor): threshold, review margin, enabled, timeout, retry budget per provider.

Changes go through ``provider_setting_update``, which validates against the model's constraints and
audits before/after; this page only parses the numbers and shows the history of changes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ...providers import UnknownProvider, all_providers, get_provider
from ...services import provider_setting_get
from ...services.settings import EDITABLE, provider_setting_update
from .. import selectors
from ..access import console_view
from ..forms import ProviderSettingForm


def _suggested(request: HttpRequest) -> tuple[str, float] | None:
    """``?provider=KEY&threshold=T`` (the accuracy page's "apply" link): pre-fill, never save."""
    key, raw = request.GET.get("provider", ""), request.GET.get("threshold", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return (key, value) if 0.0 <= value <= 1.0 else None


def _rows(
    bound: ProviderSettingForm | None = None, bound_key: str = "", suggested: tuple[str, float] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for provider in all_providers():
        setting = provider_setting_get(provider.key)
        initial = {f: getattr(setting, f) for f in EDITABLE}
        prefilled = suggested is not None and suggested[0] == provider.key
        if prefilled and suggested is not None:
            initial["threshold"] = suggested[1]
        form = (
            bound
            if bound is not None and provider.key == bound_key
            else ProviderSettingForm(initial=initial, prefix=provider.key)
        )
        rows.append(
            {
                "provider": provider,
                "setting": setting,
                "form": form,
                "problem": provider.configuration_problem(),
                "kinds": sorted(provider.kinds),
                "suggested": prefilled,
                "bands": _bands(setting.threshold, setting.review_margin),
            }
        )
    return rows


def _bands(threshold: float, margin: float) -> str:
    """The policy's three zones for these numbers, in words (liveness/policy.py, ``classify``)."""
    low, high = max(threshold - margin, 0.0), threshold + margin
    if margin == 0:
        return f"now: a score of {threshold:g} or more passes, anything below fails; no borderline band."
    passing = f"{high:g} or more passes clearly" if high <= 1 else "no score can pass clearly (threshold + margin > 1)"
    return f"now: {passing}; from {low:g} up to {high:g} is borderline (a person decides); below {low:g} fails clearly."


def _render(request: HttpRequest, *, status: int = 200, **bound: Any) -> HttpResponse:
    return render(
        request,
        "console/provider_settings.html",
        {"rows": _rows(**bound), "history": selectors.provider_setting_history()},
        status=status,
    )


@console_view("liveness.change_providersetting")
def provider_settings(request: HttpRequest) -> HttpResponse:
    return _render(request, suggested=_suggested(request))


@console_view("liveness.change_providersetting", methods=("POST",))
def provider_setting_change(request: HttpRequest, key: str) -> HttpResponse:
    try:
        get_provider(key)
    except UnknownProvider:
        raise Http404("no such provider") from None
    form = ProviderSettingForm(request.POST, prefix=key)
    if form.is_valid():
        actor: User = request.user  # type: ignore[assignment]
        try:
            provider_setting_update(provider=key, actor=actor, changes=dict(form.cleaned_data))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{key}: settings saved.")
            return redirect("provider_settings")
    return _render(request, status=400, bound=form, bound_key=key)
