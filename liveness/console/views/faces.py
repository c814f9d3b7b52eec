"""Face crops for the repeat-face panel, and the face blocklist: its page, adding and removing entries."""

from __future__ import annotations

import io
import uuid

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from PIL import Image, ImageOps

from ...models import BlocklistEntry, Case, Check, Evidence, FaceTemplate
from ...services.faces import FaceListError, blocklist_add, blocklist_remove
from .. import presenters
from ..access import console_view, safe_next
from ..forms import ReasonForm
from .cases import _render_case, evidence_viewed

#: The crop around the face box, as a share of the box's size on each side.
CROP_MARGIN = 0.35
CROP_SIDE = 240


def _reason_errors(form: ReasonForm) -> str:
    return " ".join(str(error) for error in form.errors.get("reason", []))


def _crop(content: bytes, box: list[int]) -> bytes:
    with Image.open(io.BytesIO(content)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    if len(box) == 4:
        left, top, right, bottom = box
        mx, my = (right - left) * CROP_MARGIN, (bottom - top) * CROP_MARGIN
        image = image.crop(
            (
                max(0, int(left - mx)),
                max(0, int(top - my)),
                min(image.width, int(right + mx)),
                min(image.height, int(bottom + my)),
            )
        )
    image.thumbnail((CROP_SIDE, CROP_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


@console_view("liveness.view_case", "liveness.view_evidence")
def face_crop(request: HttpRequest, public_id: uuid.UUID, template_id: int) -> HttpResponse:
    """The face a template was made from, cropped from its image; audited like every look at an image."""
    template = get_object_or_404(
        FaceTemplate.objects.select_related("case", "evidence"), pk=template_id, case__public_id=public_id
    )
    evidence = template.evidence
    if evidence is None:
        return HttpResponse("This image was deleted at the end of its retention period.", status=410)
    content = evidence_viewed(request, evidence, crop="face", template=template.pk)
    if isinstance(content, HttpResponse):
        return content
    response = HttpResponse(_crop(content, list(template.box or [])), content_type="image/jpeg")
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@console_view("liveness.view_case", "liveness.view_evidence")
def evidence_face(request: HttpRequest, public_id: uuid.UUID, evidence_id: int) -> HttpResponse:
    """The main face of one image, cropped where a provider's check placed it (the whole image, small, where
    none did); audited like every look at an image. For the case page's faces side by side."""
    evidence = get_object_or_404(Evidence.objects.select_related("case"), pk=evidence_id, case__public_id=public_id)
    checks = list(Check.objects.filter(case_id=evidence.case_id, round=evidence.round).order_by("id"))
    box = presenters.face_pixel_box(evidence, checks, kind=evidence.case.kind)
    content = evidence_viewed(request, evidence, crop="face")
    if isinstance(content, HttpResponse):
        return content
    response = HttpResponse(_crop(content, box), content_type="image/jpeg")
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@console_view("liveness.view_case", "liveness.add_blocklistentry", methods=("POST",))
def blocklist_add_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    case = get_object_or_404(Case, public_id=public_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        user: User = request.user  # type: ignore[assignment]
        try:
            blocklist_add(case=case, actor=user, reason=form.cleaned_data["reason"])
        except FaceListError as exc:
            messages.error(request, f"Not added to the blocklist: {exc.message}")
        else:
            messages.success(request, "The case's face is on the blocklist.")
            return redirect(reverse("case_detail", kwargs={"public_id": public_id}) + "#faces")
    else:
        messages.error(request, "Not added to the blocklist: " + _reason_errors(form))
    return _render_case(request, public_id, status=400)


@console_view("liveness.view_blocklistentry", "liveness.change_blocklistentry", methods=("POST",))
def blocklist_remove_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(BlocklistEntry.objects.select_related("case"), pk=entry_id)
    form = ReasonForm(request.POST)
    target = safe_next(request, reverse("blocklist"))
    if form.is_valid():
        user: User = request.user  # type: ignore[assignment]
        try:
            blocklist_remove(entry=entry, actor=user, reason=form.cleaned_data["reason"])
        except FaceListError as exc:
            messages.error(request, f"Not removed: {exc.message}")
        else:
            messages.success(request, "Removed from the blocklist.")
            return redirect(target)
    else:
        messages.error(request, "Not removed: " + _reason_errors(form))
    return _blocklist_page(request, status=400)


def _blocklist_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    entries = BlocklistEntry.objects.select_related("case", "case__partner", "added_by", "removed_by")
    if not show_all:
        entries = entries.filter(removed_at__isnull=True)
    response = render(
        request,
        "console/blocklist.html",
        {
            "entries": list(entries[:500]),
            "show_all": show_all,
            "active_count": BlocklistEntry.objects.filter(removed_at__isnull=True).count(),
            "can_remove": request.user.has_perm("liveness.change_blocklistentry"),
            "remove_form": ReasonForm(),
        },
        status=status,
    )
    patch_cache_control(response, no_store=True, private=True)
    return response


@console_view("liveness.view_blocklistentry")
def blocklist_list(request: HttpRequest) -> HttpResponse:
    return _blocklist_page(request)
