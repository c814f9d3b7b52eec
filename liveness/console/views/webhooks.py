"""Webhook deliveries (supervisor): every event sent to partners, its attempts, and redelivery.

Redelivery goes through ``webhook_redeliver``, the same service as the admin action: it resets the
retry budget, re-reads the partner's current URL, audits who asked, and enqueues after commit.
The pages never load the partner's signing secret (their selectors defer it), so no template can show it.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode

from ...models import WebhookDelivery
from ...services.webhooks import WebhookError, webhook_redeliver
from .. import selectors
from ..access import console_view, safe_next
from ..forms import DeliveryFilterForm
from ..selectors import DeliveryCursor


def _filter_params(request: HttpRequest) -> dict[str, str]:
    return {k: v for k, v in request.GET.dict().items() if k != "after" and v}


@console_view("liveness.view_webhookdelivery")
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = DeliveryFilterForm(request.GET or None, partners=selectors.partners_for_filter())
    filters = form.filters()
    cursor = DeliveryCursor.decode(request.GET.get("after", ""))
    page = selectors.webhook_delivery_page(filters, cursor=cursor)
    params = _filter_params(request)
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "page": page,
        "counts": selectors.webhook_delivery_counts(),
        "can_redeliver": request.user.has_perm("liveness.change_webhookdelivery"),
        "next_url": "?" + urlencode({**params, "after": page.next_cursor}) if page.next_cursor else "",
        "first_url": "?" + urlencode(params) if params else "?",
    }
    return render(request, "console/webhooks.html", context)


@console_view("liveness.view_webhookdelivery")
def webhook_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    try:
        delivery = selectors.webhook_delivery_for_console(pk=delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404("no such delivery") from None
    response = render(
        request,
        "console/webhook_detail.html",
        {
            "delivery": delivery,
            "attempts": list(delivery.attempt_log.all()),
            "payload_json": json.dumps(delivery.payload, indent=2, sort_keys=True, ensure_ascii=False),
            "can_redeliver": request.user.has_perm("liveness.change_webhookdelivery"),
        },
    )
    # The payload names the partner's customer reference: keep it out of shared caches.
    patch_cache_control(response, no_store=True, private=True)
    return response


@console_view("liveness.change_webhookdelivery", methods=("POST",))
def webhook_redeliver_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    back = safe_next(request, reverse("webhook_detail", args=[delivery.pk]))
    actor: User = request.user  # type: ignore[assignment]
    short = str(delivery.event_id)[:8]
    try:
        delivery = webhook_redeliver(delivery=delivery, actor=actor)
    except WebhookError as exc:
        messages.error(request, f"Event {short} was not sent again: {exc.message}.")
    else:
        messages.success(request, f"Event {short} queued for redelivery to {delivery.url}.")
    return redirect(back)
