"""Four-eyes: overrides waiting for a second supervisor, and their approval or refusal."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control

from ...models import Decision
from ...services import ServiceError, decision_approve, decision_refuse
from ...services.providers import provider_config
from .. import presenters, selectors
from ..access import console_view, safe_next, service_error_shown
from ..forms import ReviewForm


@console_view("liveness.approve_override")
def approval_list(request: HttpRequest) -> HttpResponse:
    pending = selectors.approvals_pending()
    providers = {c.provider for d in pending for c in d.case.checks.all()}
    current = {provider: provider_config(provider) for provider in providers}
    response = render(
        request,
        "console/approvals.html",
        {
            "pending": pending,
            "rows": presenters.approval_rows(pending, current=current),
            "can_view_evidence": request.user.has_perm("liveness.view_evidence"),
            "recent": selectors.approvals_recent(),
            "review_form": ReviewForm(),
        },
    )
    # The images and scores of people's cases: no shared or back-button cache may keep a copy.
    patch_cache_control(response, no_store=True, private=True)
    return response


def _review(request: HttpRequest, decision_id: int, *, approve: bool) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("case"), pk=decision_id)
    back = safe_next(request, reverse("approval_list"))
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(back)
    approver: User = request.user  # type: ignore[assignment]
    action = decision_approve if approve else decision_refuse
    try:
        action(decision=decision, approver=approver, note=form.cleaned_data["note"])
    except ServiceError as exc:
        service_error_shown(request, exc)
        return redirect(back)
    short = str(decision.case.public_id)[:8]
    if approve:
        messages.success(request, f"Override on case {short} approved: the case is now {decision.verdict}.")
    else:
        messages.success(request, f"Override on case {short} refused: the case is back in the review queue.")
    return redirect(back)


@console_view("liveness.approve_override", methods=("POST",))
def approval_approve(request: HttpRequest, decision_id: int) -> HttpResponse:
    return _review(request, decision_id, approve=True)


@console_view("liveness.approve_override", methods=("POST",))
def approval_refuse(request: HttpRequest, decision_id: int) -> HttpResponse:
    return _review(request, decision_id, approve=False)
