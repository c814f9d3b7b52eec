"""An operator creates a case by uploading images; it lands on the case page, which follows the checks."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ...intake import ImageRejected
from ...models import CaseKind
from ...services import CaseInputError, case_create, workflow_providers
from ...services.providers import ProviderSelectionError
from .. import upload_drafts
from ..access import console_view
from ..forms import UploadForm

#: Where the service's field names land on the form (the rest is shown above the form).
_FIELD_MAP = {"country_code": "country_code", "card_code": "card_code", "success_threshold": "success_threshold"}


def _available() -> dict[str, list[str]]:
    """The providers a console upload of each kind would be checked by (its workflow, as configured now)."""
    chosen = {}
    for kind in CaseKind.values:
        try:
            chosen[kind] = workflow_providers(kind=kind, partner=None, requested=None)
        except ProviderSelectionError:
            chosen[kind] = []
    return chosen


@console_view("liveness.add_case", methods=("GET", "HEAD", "POST"))
def case_upload(request: HttpRequest) -> HttpResponse:
    """The upload form. After a refused POST the files that were fine are kept (upload_drafts) and
    shown as "kept: name, size", so the operator fixes only what the form complains about."""
    status = 200
    if request.method == "POST":
        fields = UploadForm.file_fields()
        files, lost = upload_drafts.with_kept(request, fields)
        form = UploadForm(request.POST, files)
        form.kept = upload_drafts.kept_files(request)
        if form.is_valid():
            created = _create(request, form)
            if created is not None:
                upload_drafts.discard_all(request)
                return redirect("case_detail", public_id=created)
        for field in lost:
            form.add_error(field, "the file kept from before has expired: choose it again")
        upload_drafts.keep_valid(request, files, set(form.errors))
        form.kept = upload_drafts.kept_files(request)
        status = 400
    else:
        upload_drafts.discard_all(request)  # a fresh form starts empty
        form = UploadForm()
    context: dict[str, Any] = {
        "form": form,
        "available": _available(),
        "kept": form.kept,
    }
    return render(request, "console/upload.html", context, status=status)


def _create(request: HttpRequest, form: UploadForm) -> str | None:
    images = form.images()
    kind = form.cleaned_data["kind"]
    user: User = request.user  # type: ignore[assignment]
    try:
        created = case_create(
            kind=kind,
            images=[image for _, image in images],
            created_by=user,
            external_ref=form.cleaned_data.get("external_ref") or "",
            # Only the chosen kind's fields: the others' sections are hidden, not emptied, when the kind changes.
            country_code=(form.cleaned_data.get("country_code") or "") if kind == CaseKind.ID_DOCUMENT else "",
            card_code=(form.cleaned_data.get("card_code") or "") if kind == CaseKind.ID_DOCUMENT else "",
            success_threshold=form.cleaned_data.get("success_threshold") if kind == CaseKind.ACTIVE else None,
        )
    except ImageRejected as exc:
        field = _image_field(getattr(exc, "field", ""), images)
        form.add_error(field, exc.message)
        return None
    except CaseInputError as exc:
        form.add_error(_FIELD_MAP.get(exc.field), exc.message)
        return None
    messages.success(request, "Case created: its checks are running.")
    return str(created.case.public_id)


def _image_field(service_field: str, images: list[tuple[str, Any]]) -> str | None:
    """``images[2]`` from the service -> the form field the third image was uploaded in."""
    match = re.fullmatch(r"images\[(\d+)\]", service_field or "")
    if match and int(match.group(1)) < len(images):
        return images[int(match.group(1))][0]
    return None
