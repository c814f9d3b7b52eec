"""The accuracy page in a real browser: the demo history's figures and the three charts per provider."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from liveness.demo.history import seed_history
from liveness.models import Partner
from tests.browser.conftest import screenshot
from tests.console_support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_reads_the_accuracy_page(page, log_in, role_user) -> None:
    supervisor = role_user("supervisor", "sam")
    operator = role_user("operator", "olga")
    partner = Partner.objects.create(name="Demo Bank", slug="demo-bank")
    assert seed_history(partner=partner, operator=operator, supervisor=supervisor) == 360
    log_in("sam", PASSWORD)
    page.click("nav.mainnav >> text=Accuracy")
    page.wait_for_selector("body[data-charts-drawn=true]")
    assert page.locator("#accuracy-table tbody tr").count() == 3
    for provider in ("local", "accura_face", "kairos"):
        for chart in ("rates", "det", "hist"):
            assert page.eval_on_selector(f"#{chart}-{provider}-selfie", "c => c.width > 0 && c.height > 0")
    assert page.locator(".suggestion").count() == 3
    screenshot(page, "20-accuracy")
    assert User.objects.filter(username="sam").exists()


def test_an_operator_has_no_accuracy_link(page, log_in, role_user) -> None:
    role_user("operator", "olga")
    log_in("olga", PASSWORD)
    assert page.locator("nav.mainnav >> text=Accuracy").count() == 0
