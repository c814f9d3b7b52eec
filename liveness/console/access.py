"""Who may open which console page: login first (anonymous users go to the login page), then a
permission (403 when missing), then the HTTP method (405)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

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
