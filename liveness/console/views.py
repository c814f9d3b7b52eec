"""Console views. Thin: read through selectors, write through services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .. import selectors
from ..models import Case


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    return render(request, "console/case_list.html", {"cases": selectors.case_list_recent()})


@login_required
def case_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        case = selectors.case_get_detail(public_id=public_id)
    except Case.DoesNotExist:
        raise Http404("no such case") from None
    return render(request, "console/case_detail.html", {"case": case})
