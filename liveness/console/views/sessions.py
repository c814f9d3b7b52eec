"""A supervisor creates a hosted verification link by hand: for a new case (e.g. a walk-in applicant)
or for a case waiting for a resubmission. The link is shown once, on the answer page, never stored."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control

from ...models import Case, CaseKind
from ...services.sessions import SessionError, session_create
from ..access import console_view


class SessionLinkForm(forms.Form):
    kind = forms.ChoiceField(choices=CaseKind.choices, initial=CaseKind.ACTIVE, widget=forms.RadioSelect)
    external_ref = forms.CharField(max_length=200, required=False, label="Reference")
    country_code = forms.CharField(max_length=10, required=False, help_text="ID documents only.")
    card_code = forms.CharField(max_length=40, required=False, help_text="ID documents only.")
    expires_minutes = forms.IntegerField(min_value=5, max_value=7 * 24 * 60, initial=30, label="Valid for (minutes)")


def _answer(request: HttpRequest, template: str, context: dict[str, object], status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    patch_cache_control(response, no_store=True, private=True)  # the answer holds the link's token
    return response


@console_view("liveness.approve_override", methods=("GET", "HEAD", "POST"))
def session_link_create(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = None
    case_id = request.POST.get("case_id") or request.GET.get("case_id")
    if case_id:
        try:
            case = Case.objects.get(public_id=case_id)
        except (Case.DoesNotExist, ValueError, forms.ValidationError):
            raise Http404("no such case") from None
    if request.method != "POST":
        return _answer(request, "console/session_link.html", {"form": SessionLinkForm(), "case": case})
    form = SessionLinkForm(request.POST) if case is None else None
    if form is not None and not form.is_valid():
        return _answer(request, "console/session_link.html", {"form": form, "case": None}, status=400)
    data = form.cleaned_data if form is not None else {}
    try:
        created = session_create(
            kind=data.get("kind", case.kind if case else ""),
            case=case,
            created_by=user,
            external_ref=data.get("external_ref", ""),
            country_code=data.get("country_code", ""),
            card_code=data.get("card_code", ""),
            expires_in=int(data.get("expires_minutes", 30)) * 60,
        )
    except SessionError as exc:
        if form is not None:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _answer(
            request, "console/session_link.html", {"form": form, "case": case, "error": exc.message}, status=400
        )
    link = request.build_absolute_uri(reverse("hosted_session", kwargs={"token": created.token}))
    return _answer(request, "console/session_link.html", {"created": created.session, "link": link, "case": case})
