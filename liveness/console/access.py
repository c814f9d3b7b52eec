"""Who may open which console page: login first (anonymous users go to the login page), then a
permission (403 when missing), then the HTTP method (405). And how a service's refusal is shown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from ..services.errors import ServiceError, Stale

View = TypeVar("View", bound=Callable[..., Any])


def console_view(*perms: str, methods: Sequence[str] = ("GET", "HEAD")) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        wrapped: Any = require_http_methods(list(methods))(view)
        if perms:
            wrapped = permission_required(perms, raise_exception=True)(wrapped)
        return login_required(wrapped)

    return decorator


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` URL of a form if it points back into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def service_error_shown(request: HttpRequest, exc: ServiceError, form: forms.Form | None = None) -> bool:
    """The console's one translation of a service's refusal.

    With a form, the refusal goes onto it (its field, or the form as a whole) and the caller re-renders the
    form (True). A stale request (the case moved on since the page was drawn) or any refusal without a
    form becomes a message for the next page (False): the caller redirects, and the page then shows the
    current state.
    """
    if form is not None and not isinstance(exc, Stale):
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return True
    messages.error(request, exc.message)
    return False
