"""Browser security headers and console session lifetimes."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from kyc_portal.middleware import SESSION_STARTED_KEY
from tests.api_helpers import client_for, make_partner, partner_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client: Client, role_user) -> Client:
    client.force_login(role_user("operator", "olga"))
    return client


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/cases/new/", "/login/", "/admin/login/"])
def test_console_and_admin_pages_carry_a_strict_csp_and_no_store(operator_client: Client, path: str):
    response = operator_client.get(path, follow=True)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == "script-src 'self'"  # no inline script, no CDN
    assert "'unsafe-inline'" not in policy["style-src-elem"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert "no-store" in response["Cache-Control"]
    assert "camera=()" in response["Permissions-Policy"]


def test_api_json_is_never_cached_and_has_no_powerful_features():
    response = client_for(partner_key(make_partner(slug="acme"))).get("/api/v1/cases/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_swagger_ui_runs_without_inline_script(client: Client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Every <script> has a src: the start-up code is a script of its own (drf-spectacular's split view).
    assert html.count("<script") == html.count("<script src=")
    assert directives(page)["script-src"] == "script-src 'self'"


def test_redoc_gets_only_the_style_and_worker_allowances_it_needs(client: Client):
    policy = directives(client.get("/api/v1/redoc/"))
    assert "'unsafe-inline'" in policy["style-src-elem"]
    assert "blob:" in policy["worker-src"]
    assert policy["script-src"] == "script-src 'self'"


def test_a_view_that_sets_its_own_permissions_policy_keeps_it(rf, settings):
    from django.http import HttpResponse

    from kyc_portal.middleware import SecurityHeadersMiddleware

    def camera_page(request):
        response = HttpResponse("ok")
        response["Permissions-Policy"] = "camera=(self)"
        response["Cache-Control"] = "max-age=60"
        return response

    response = SecurityHeadersMiddleware(camera_page)(rf.get("/"))
    assert (response["Permissions-Policy"], response["Cache-Control"]) == ("camera=(self)", "max-age=60")


def test_an_idle_session_expires_with_the_idle_timeout(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 3600


def test_a_session_ends_after_its_absolute_lifetime_however_active(operator_client: Client, settings):
    assert operator_client.get("/").status_code == 200
    session = operator_client.session
    started = session[SESSION_STARTED_KEY]
    assert started == pytest.approx(time.time(), abs=60)
    session[SESSION_STARTED_KEY] = time.time() - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = operator_client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
