"""The case page and its actions: images (authenticated, audited), checks, decisions, claims, closing."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control

from ... import storage
from ...models import ApprovalStatus, AuditEvent, Case, CaseStatus, Evidence, ProviderSetting, Verdict
from ...services import ServiceError, audit_record, case_close, claims, decision_record
from ...services.decisions import OPERATOR_VERDICTS, reason_required, standing_verdict
from ...services.providers import provider_config
from ...storage import EvidenceUnavailable
from .. import presenters, selectors
from ..access import console_view, service_error_shown
from ..faces import face_context
from ..forms import DecisionForm, QueueFilterForm, ReasonForm, ReviewForm
from ..selectors import QueueFilters
from .queue import QUEUE_SESSION_KEY

#: While a case is in these statuses its checks are still running: the live panel keeps polling.
RUNNING_STATUSES = (CaseStatus.RECEIVED, CaseStatus.PROCESSING)


def _get_case(public_id: uuid.UUID) -> Case:
    try:
        return selectors.case_for_console(public_id=public_id)
    except Case.DoesNotExist:
        raise Http404("no such case") from None


def _is_live(case: Case) -> bool:
    current = [c for c in case.checks.all() if c.round == case.round]
    return case.status in RUNNING_STATUSES or any(not c.is_settled for c in current)


def _live_context(case: Case) -> dict[str, Any]:
    current = [c for c in case.checks.all() if c.round == case.round]
    # The settings in force (defaults where a provider has no saved row yet): what an unclaimed check gets.
    settings_by_provider = {provider: provider_config(provider) for provider in {c.provider for c in current}}
    settled = sum(1 for c in current if c.is_settled)
    return {
        "case": case,
        "live": _is_live(case),
        "check_rows": presenters.check_rows(current, current=settings_by_provider),
        "settled": settled,
        "total": len(current),
        "progress_pct": round(100 * settled / len(current)) if current else 0,
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        "headline": presenters.headline(case),
        "reason_badges": presenters.reason_badges(case.reason_codes),
    }


def _review_events(events: list[AuditEvent]) -> dict[int, AuditEvent]:
    """decision id -> the audit event of its four-eyes answer (who approved or refused, and when)."""
    found = {}
    for event in events:
        if event.action in ("decision.approved", "decision.refused") and isinstance(event.data, dict):
            decision_id = event.data.get("decision")
            if isinstance(decision_id, int):
                found[decision_id] = event
    return found


def reason_rule(case: Case) -> tuple[list[Verdict], str]:
    """The verdicts that need a reason on this case, and the rule in words, both from the service's rule
    (services.decisions.reason_required) applied to the case's standing verdict."""
    current = standing_verdict(case)
    needing = [v for v in OPERATOR_VERDICTS if reason_required(current_verdict=current, verdict=v)]
    labels = dict(DecisionForm.base_fields["verdict"].choices)  # type: ignore[attr-defined]
    rule = "A reason is required when your verdict changes a standing live or spoof verdict, and for a resubmission."
    if current in (Verdict.LIVE, Verdict.SPOOF):
        by = case.decided_by.get_username() if case.decided_by else "the policy"
        standing = f"the standing verdict is {Verdict(current).label.lower()} ({by})"
    else:
        shown = Verdict(current).label.lower() if current else "none yet"
        standing = f"no live or spoof verdict stands (automatic: {shown})"
    required = " and ".join(str(labels[v]).lower() for v in needing)
    text = f"{rule} Here {standing}, so a reason is required for: {required}."
    return needing, text


def _queue_filters(request: HttpRequest) -> QueueFilters:
    """The filters of the queue page the operator last looked at (decide-and-open-next stays in it)."""
    params = request.session.get(QUEUE_SESSION_KEY)
    if not isinstance(params, dict) or not params:
        return QueueFilters()
    return QueueFilterForm(params, partners=selectors.partners_for_filter()).filters()


def _open_next(request: HttpRequest, after: Case) -> HttpResponse:
    """Claim and open the next case of the operator's queue after ``after``; the queue when none is left."""
    user: User = request.user  # type: ignore[assignment]
    candidates = selectors.queue_next_ids(_queue_filters(request), user=user, after=after)
    following = claims.claim_first(user=user, case_ids=candidates)
    if following is None:
        messages.info(request, "Nothing else in your queue needs review right now.")
        return redirect("case_list")
    return redirect("case_detail", public_id=following.public_id)


def _case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    checks = list(case.checks.all())
    evidence = list(case.evidence.all())
    events = list(case.events.all())
    decisions = list(case.decisions.all())
    views = presenters.evidence_views(evidence=evidence, checks=checks, kind=case.kind)
    rounds: dict[int, list[presenters.EvidenceView]] = {}
    for view in views:
        rounds.setdefault(view.evidence.round, []).append(view)
    current_views = sorted(rounds.pop(case.round, []), key=lambda v: (v.evidence.role, v.evidence.index))
    earlier_settings = {s.provider: s for s in ProviderSetting.objects.all()}
    earlier_checks = presenters.check_rows([c for c in checks if c.round != case.round], current=earlier_settings)
    reviews = _review_events(events)
    pending = next((d for d in decisions if d.approval_status == ApprovalStatus.PENDING), None)
    holder_id = case.claim_holder_id(now)
    can_decide = user.has_perm("liveness.decide_case")
    reason_verdicts, reason_text = reason_rule(case)
    return {
        **_live_context(case),
        "images": current_views,
        "earlier_rounds": sorted(rounds.items(), reverse=True),
        "earlier_checks": earlier_checks,
        "is_active": case.kind == "active",
        "can_view_evidence": user.has_perm("liveness.view_evidence"),
        "decisions": [(d, reviews.get(d.pk)) for d in decisions],
        "pending": pending,
        "can_review_pending": (
            pending is not None and user.has_perm("liveness.approve_override") and pending.actor_id != user.pk
        ),
        "timeline": presenters.timeline(events),
        "face_pairs": presenters.face_pairs(
            evidence=[e for e in evidence if e.round == case.round],
            checks=[c for c in checks if c.round == case.round],
            kind=case.kind,
        ),
        "reason_verdicts": reason_verdicts,
        "reason_text": reason_text,
        "can_decide": can_decide and case.status in (CaseStatus.NEEDS_REVIEW, CaseStatus.DECIDED),
        "can_claim": can_decide and case.status in claims.CLAIMABLE_STATUSES,
        "can_close": can_decide and case.can_transition(CaseStatus.CLOSED),
        "claim_holder": case.claimed_by if holder_id else None,
        "claimed_by_me": holder_id == user.pk,
        "claimed_by_other": holder_id is not None and holder_id != user.pk,
        "can_release_other": user.has_perm("liveness.assign_case"),
        "max_resubmissions": settings.MAX_RESUBMISSIONS,
        "deliveries": list(case.webhook_deliveries.all()),
        "can_view_deliveries": user.has_perm("liveness.view_webhookdelivery"),
        "can_redeliver": user.has_perm("liveness.change_webhookdelivery"),
        "decision_form": DecisionForm(initial={"expected_version": case.version, "open_next": True}),
        "close_form": ReasonForm(auto_id="close_%s"),
        "review_form": ReviewForm(),
        "faces": face_context(user, case),
    }


def _render_case(
    request: HttpRequest, public_id: uuid.UUID, *, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    case = _get_case(public_id)
    context = _case_context(request, case)
    context.update(forms_)
    response = render(request, "console/case_detail.html", context, status=status)
    # Personal data: no shared or back-button cache may keep a copy of the page.
    patch_cache_control(response, no_store=True, private=True)
    return response


@console_view("liveness.view_case")
def case_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _render_case(request, public_id)


@console_view("liveness.view_case")
def case_live(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The polled panel (status, progress, checks). When the case's status has moved on since the page
    was drawn, htmx is told to reload the whole page so boxes, verdict and actions appear too."""
    try:
        case = selectors.case_for_live_panel(public_id=public_id)
    except Case.DoesNotExist:
        raise Http404("no such case") from None
    shown = request.GET.get("shown", "")
    if request.headers.get("HX-Request") and shown and shown != case.status:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    response = render(request, "console/_case_live.html", _live_context(case))
    response["Cache-Control"] = "no-store, private"
    return response


def evidence_viewed(request: HttpRequest, evidence: Evidence, **audit: Any) -> bytes | HttpResponse:
    """The decrypted bytes of one image for the user who asked, the look written to the audit trail; or the
    410 page when the image is gone (purged, or no longer decryptable)."""
    if evidence.is_purged:
        return HttpResponse("This image was deleted at the end of its retention period.", status=410)
    try:
        content = storage.get(evidence.storage_key)
    except EvidenceUnavailable:
        return HttpResponse("This image is no longer available.", status=410)
    audit_record(
        action="evidence.viewed",
        case=evidence.case,
        actor=request.user,
        data={
            "evidence": evidence.pk,
            "role": evidence.role,
            "index": evidence.index,
            "round": evidence.round,
            **audit,
        },
    )
    return content


@console_view("liveness.view_case", "liveness.view_evidence")
def evidence_image(request: HttpRequest, public_id: uuid.UUID, evidence_id: int) -> HttpResponse:
    """One image of a case, decrypted for a user allowed to see it; every look is audited."""
    evidence = get_object_or_404(Evidence.objects.select_related("case"), pk=evidence_id, case__public_id=public_id)
    content = evidence_viewed(request, evidence)
    if isinstance(content, HttpResponse):
        return content
    response = HttpResponse(content, content_type=evidence.content_type)
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    extension = "png" if evidence.content_type == "image/png" else "jpg"
    response["Content-Disposition"] = f'inline; filename="{evidence.role}-{evidence.index}.{extension}"'
    return response


@console_view("liveness.decide_case", methods=("POST",))
def case_decide(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    case = get_object_or_404(Case, public_id=public_id)
    user: User = request.user  # type: ignore[assignment]
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision = decision_record(
                case=case,
                actor=user,
                verdict=form.cleaned_data["verdict"],
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["expected_version"],
                resubmission_reasons=form.cleaned_data["resubmission_reasons"],
            )
        except ServiceError as exc:
            if not service_error_shown(request, exc, form):
                # The case moved on since the page was drawn: nothing changed; show its current state.
                return redirect("case_detail", public_id=public_id)
        else:
            short = str(case.public_id)[:8]
            if decision.approval_status == ApprovalStatus.PENDING:
                messages.info(request, f"Override recorded: it waits for another supervisor's approval (case {short}).")
            else:
                messages.success(request, f"Decision recorded: {decision.get_verdict_display().lower()}. Case {short}.")
            if form.cleaned_data.get("open_next"):
                return _open_next(request, case)
            return redirect("case_detail", public_id=public_id)
    # Re-shown with the version the page now has, so the operator decides on what they see.
    data = request.POST.copy()
    data["expected_version"] = str(case.version)
    form.data = data
    return _render_case(request, public_id, status=400, decision_form=form)


@console_view("liveness.decide_case", methods=("POST",))
def case_claim(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    case = get_object_or_404(Case, public_id=public_id)
    try:
        claims.case_claim(case=case, user=request.user)  # type: ignore[arg-type]
    except ServiceError as exc:
        service_error_shown(request, exc)
    else:
        messages.success(request, "You are working on this case.")
    return redirect("case_detail", public_id=public_id)


@console_view("liveness.decide_case", methods=("POST",))
def case_next(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Skip to the next case of the operator's queue, giving up one's own claim on this one."""
    case = get_object_or_404(Case, public_id=public_id)
    user: User = request.user  # type: ignore[assignment]
    if case.claim_holder_id() == user.pk:
        claims.case_release(case=case, user=user)
    return _open_next(request, case)


@console_view("liveness.decide_case", methods=("POST",))
def case_release(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    case = get_object_or_404(Case, public_id=public_id)
    if claims.case_release(case=case, user=request.user):  # type: ignore[arg-type]
        messages.success(request, "Claim released: the case is back in the queue.")
    else:
        messages.error(request, "You hold no claim on this case.")
    return redirect("case_detail", public_id=public_id)


@console_view("liveness.decide_case", methods=("POST",))
def case_close_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    case = get_object_or_404(Case, public_id=public_id)
    form = ReasonForm(request.POST, auto_id="close_%s")
    if form.is_valid():
        try:
            case_close(case=case, actor=request.user, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
        except ServiceError as exc:
            if not service_error_shown(request, exc, form):
                return redirect("case_detail", public_id=public_id)
        else:
            messages.success(request, "Case closed.")
            return redirect("case_detail", public_id=public_id)
    return _render_case(request, public_id, status=400, close_form=form)
