"""The next round of a console-uploaded case that an operator sent back.

A case uploaded in the console has no partner system to answer ``case.resubmission_requested``: whoever
uploaded it gets the new images from the applicant and uploads them here. They become the case's next round
through ``case_resubmit``, the service behind the partner API's ``resubmit/`` (same checks, same audit), so the
case keeps its history and the reviewer sees both rounds. A partner's case is answered by the partner (API or
a verification link), so this page refuses it with that reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from ...intake import ImageRejected
from ...models import Case, CaseStatus
from ...services import CaseInputError, case_resubmit
from ...services.webhooks import case_resubmission_request
from ...vocabulary import RESUBMISSION_REASONS
from ..access import console_view
from ..forms import UploadForm
from .upload import _image_field


def next_round_refusal(case: Case) -> str:
    """Why this case's next round cannot be uploaded in the console, or ""."""
    if case.partner_id is not None:
        return "the partner's system answers this case's resubmission (API or a verification link), not the console"
    if case.status != CaseStatus.RESUBMISSION_REQUESTED:
        return "this case is not waiting for a resubmission"
    return ""


def _form(case: Case, request: HttpRequest | None = None) -> UploadForm:
    if request is None or request.method != "POST":
        initial: dict[str, Any] = {"kind": case.kind}
        for i, parameter in enumerate(case.face_parameters or []):
            initial[f"parameter_{i}"] = parameter
        return UploadForm(initial=initial)
    data = request.POST.copy()
    data["kind"] = case.kind  # a resubmission answers the case's own kind
    return UploadForm(data, request.FILES)


def _page(request: HttpRequest, case: Case, form: UploadForm, *, status: int = 200, refusal: str = "") -> HttpResponse:
    asked = case_resubmission_request(case)
    context = {
        "case": case,
        "form": form,
        "refusal": refusal,
        "asked": asked,
        "asked_words": [(code, RESUBMISSION_REASONS.get(code, "")) for code in (asked or {}).get("reasons", [])],
        "frame_rows": form.frame_rows()[: max(len(case.face_parameters or []), 1)],
    }
    return render(request, "console/case_resubmit.html", context, status=status)


@console_view("liveness.add_case", methods=("GET", "HEAD", "POST"))
def case_resubmit_upload(request: HttpRequest, public_id: Any) -> HttpResponse:
    case = get_object_or_404(Case.objects.select_related("partner"), public_id=public_id)
    refusal = next_round_refusal(case)
    if refusal:
        return _page(request, case, _form(case), status=409, refusal=refusal)
    form = _form(case, request)
    if request.method != "POST":
        return _page(request, case, form)
    if form.is_valid():
        images = form.images()
        actor: User = request.user  # type: ignore[assignment]
        try:
            case_resubmit(case=case, images=[image for _, image in images], actor=actor)
        except ImageRejected as exc:
            form.add_error(_image_field(getattr(exc, "field", ""), images), exc.message)
        except CaseInputError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Round {case.round} uploaded: its checks are running.")
            return redirect("case_detail", public_id=case.public_id)
    return _page(request, case, form, status=400)


__all__ = ["case_resubmit_upload", "next_round_refusal"]
