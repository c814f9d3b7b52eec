"""Console access: login, lockout after repeated failures, logout by POST, CSRF, anonymous redirects."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.console_support import PASSWORD

pytestmark = pytest.mark.django_db

CASE = uuid.uuid4()
CONSOLE_PAGES = [
    reverse("case_list"),
    reverse("case_export"),
    reverse("case_upload"),
    reverse("case_detail", args=[CASE]),
    reverse("case_live", args=[CASE]),
    reverse("evidence_image", args=[CASE, 1]),
    reverse("approval_list"),
    reverse("dashboard"),
    reverse("provider_settings"),
]


@pytest.mark.parametrize("url", CONSOLE_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_an_operator_logs_in_and_lands_on_the_queue(client: Client, role_user) -> None:
    role_user("operator", "olga")
    response = client.post(reverse("login"), {"username": "olga", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("case_list")
    assert b"Review queue" in response.content
    assert response.context["user"].get_username() == "olga"


def test_a_wrong_password_shows_an_error_and_no_session(client: Client, role_user) -> None:
    role_user("operator", "olga")
    response = client.post(reverse("login"), {"username": "olga", "password": "not it"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_refuses_get_and_ends_the_session_on_post(client: Client, role_user) -> None:
    client.force_login(role_user("operator", "olga"))
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_from_that_address(client: Client, role_user, settings) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    role_user("operator", "olga")
    for _ in range(3):
        client.post(reverse("login"), {"username": "olga", "password": "wrong"}, REMOTE_ADDR="10.0.0.7")
    # Even the right password is refused now, from that address.
    locked = client.post(reverse("login"), {"username": "olga", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7")
    assert locked.status_code == 429
    assert b"Too many failed log-ins" in locked.content
    assert "_auth_user_id" not in client.session
    # The same operator from another address is not locked out by someone guessing elsewhere.
    elsewhere = Client()
    ok = elsewhere.post(reverse("login"), {"username": "olga", "password": PASSWORD}, REMOTE_ADDR="10.0.0.8")
    assert ok.status_code == 302
    assert "_auth_user_id" in elsewhere.session


def test_the_admin_site_login_still_works_with_lockout_enabled(client: Client, settings) -> None:
    settings.AXES_ENABLED = True
    User.objects.create_superuser("root", "root@example.test", PASSWORD)
    response = client.post(reverse("admin:login"), {"username": "root", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_console_forms_refuse_a_post_without_csrf_token(role_user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("operator", "olga"))
    response = client.post(reverse("queue_take_next"))
    assert response.status_code == 403


def test_pages_carry_the_csrf_token_for_htmx_requests(client: Client, role_user) -> None:
    client.force_login(role_user("operator", "olga"))
    response = client.get(reverse("case_list"))
    assert b'hx-headers=\'{"X-CSRFToken": "' in response.content


def test_a_user_without_a_console_role_is_refused(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody", password=PASSWORD))
    response = client.get(reverse("case_list"))
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def _every_console_url() -> list[tuple[str, str]]:
    """(url name, url) of every console route, read from the URLconf so a new route is covered too."""
    from liveness import urls

    fillers = {
        "public_id": CASE, "evidence_id": 1, "decision_id": 1, "delivery_id": 1, "key": "local",
        "template_id": 1, "entry_id": 1, "slug": "demo-bank",
    }  # fmt: skip
    found = []
    for pattern in urls.urlpatterns:
        if pattern.name in ("login", "logout"):
            continue
        names = pattern.pattern.regex.groupindex
        found.append((str(pattern.name), reverse(str(pattern.name), kwargs={k: fillers[k] for k in names})))
    return found


@pytest.mark.parametrize(("name", "url"), _every_console_url())
def test_it_sends_anonymous_visitors_to_log_in_on_every_console_route(client: Client, name: str, url: str) -> None:
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302, (name, method)
        assert response["Location"].startswith(reverse("login") + "?next="), name


@pytest.mark.parametrize(("name", "url"), _every_console_url())
def test_it_refuses_every_console_post_without_a_csrf_token(role_user, name: str, url: str) -> None:
    # A supervisor may use every route, so only the missing token can be the reason for the 403.
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("supervisor", "sam"))
    response = client.post(url)
    assert response.status_code == 403, name
    assert b"CSRF" in response.content, name
