"""Partners' webhooks (admin): where each partner's events go, and its signing secret.

The URL goes through ``partner_webhook_url_set`` and a new secret through ``webhook_secret_rotate`` (the same
services as the ``set_webhook`` and ``rotate_webhook_secret`` commands), both audited. A secret is shown once,
on the answer to the request that created it (``no-store``); the page never loads a stored secret.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control

from ...models import AuditEvent, Partner
from ...services.api_keys import webhook_secret_rotate
from ...services.webhooks import MAX_WEBHOOK_URL, WebhookUrlError, partner_webhook_url_set
from ..access import console_view

PERMISSION = "liveness.change_partner"


class WebhookUrlForm(forms.Form):
    webhook_url = forms.CharField(
        required=False,
        max_length=MAX_WEBHOOK_URL,
        label="Webhook URL",
        help_text="Where the partner's events are POSTed (https in production). Empty: no events are sent.",
        widget=forms.URLInput(attrs={"placeholder": "https://partner.example/kyc-webhooks", "inputmode": "url"}),
    )


def _partners() -> QuerySet[Partner]:
    """Partners without their secrets: whether one is set is all the page may know."""
    return (
        Partner.objects.defer("webhook_secret", "webhook_secret_previous")
        .annotate(has_secret=ExpressionWrapper(~Q(webhook_secret=""), output_field=BooleanField()))
        .order_by("name")
    )


def _render(
    request: HttpRequest,
    *,
    status: int = 200,
    bound: WebhookUrlForm | None = None,
    bound_slug: str = "",
    secret: tuple[str, str] | None = None,
) -> HttpResponse:
    rows = [
        {
            "partner": partner,
            "form": bound
            if bound is not None and partner.slug == bound_slug
            else WebhookUrlForm(initial={"webhook_url": partner.webhook_url}, prefix=partner.slug),
        }
        for partner in _partners()
    ]
    history = list(
        AuditEvent.objects.filter(action__in=("partner.webhook_url_changed", "partner.webhook_secret_rotated"))
        .select_related("actor")
        .order_by("-created_at", "-id")[:20]
    )
    response = render(
        request,
        "console/partner_webhooks.html",
        {"rows": rows, "history": history, "secret": secret},
        status=status,
    )
    if secret is not None:
        patch_cache_control(response, no_store=True, private=True)  # the answer holds the secret
    return response


@console_view(PERMISSION)
def partner_webhooks(request: HttpRequest) -> HttpResponse:
    return _render(request)


@console_view(PERMISSION, methods=("POST",))
def partner_webhook_url(request: HttpRequest, slug: str) -> HttpResponse:
    partner = get_object_or_404(Partner, slug=slug)
    form = WebhookUrlForm(request.POST, prefix=partner.slug)
    if form.is_valid():
        actor: User = request.user  # type: ignore[assignment]
        try:
            changed = partner_webhook_url_set(partner=partner, url=form.cleaned_data["webhook_url"], actor=actor)
        except WebhookUrlError as exc:
            form.add_error("webhook_url", exc.message)
        else:
            if changed:
                messages.success(request, f"{partner.name}: webhook URL saved.")
            else:
                messages.info(request, f"{partner.name}: the webhook URL was already this one.")
            return redirect("partner_webhooks")
    return _render(request, status=400, bound=form, bound_slug=partner.slug)


@console_view(PERMISSION, methods=("POST",))
def partner_webhook_secret(request: HttpRequest, slug: str) -> HttpResponse:
    partner = get_object_or_404(Partner, slug=slug)
    actor: User = request.user  # type: ignore[assignment]
    secret = webhook_secret_rotate(partner=partner, actor=actor)
    return _render(request, secret=(partner.slug, secret))
