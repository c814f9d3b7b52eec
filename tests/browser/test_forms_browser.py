"""Forms in a real browser (issue 11): the upload form keeps the chosen file after an error and names every
missing field; provider settings refuse a bad value in words. Screenshots at 1440 and 390 px."""

from __future__ import annotations

import pytest
from django.urls import reverse

from liveness.models import Case, ProviderSetting
from tests.browser.conftest import screenshot
from tests.console_support import PASSWORD
from tests.helpers import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_upload_form_keeps_the_file_and_lists_every_missing_field(
    page, log_in, role_user, scripted, tmp_path
) -> None:
    role_user("operator", "olga")
    image = tmp_path / "passport-front.jpg"
    image.write_bytes(image_bytes(width=400, height=260))
    log_in("olga", PASSWORD)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(reverse("case_upload"))
        page.check("input[name=kind][value=id_document]")
        page.set_input_files("#id_id_front", str(image))
        page.click("#upload-button")
        page.wait_for_selector("#upload-errors")
        # Both codes are missing: both are named, at once, and the image is kept.
        assert "2 fields to fix below; the files you chose are kept" in page.inner_text("#upload-errors")
        assert "enter the country that issued the document" in page.inner_text("fieldset[data-kind=id_document]")
        assert "enter the card code" in page.inner_text("fieldset[data-kind=id_document]")
        kept = page.locator("[data-kept-file=id_front]")
        assert kept.is_visible()
        assert "passport-front.jpg" in kept.inner_text()
        assert page.locator("#help-card_code").is_visible()
        screenshot(page, f"forms-{width}-upload-kept")
        page.fill("#id_country_code", "DE")
        page.fill("#id_card_code", "passport")
        page.click("#upload-button")
        page.wait_for_url("**/cases/*/")
    assert Case.objects.count() == 2
    assert all(case.evidence.count() == 1 for case in Case.objects.all())


def test_provider_settings_refuse_a_bad_threshold_in_words(page, log_in, role_user) -> None:
    role_user("supervisor", "sam")
    log_in("sam", PASSWORD)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(reverse("provider_settings"))
        form = page.locator("#provider-local form")
        form.locator("input[name=local-threshold]").fill("1.5")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#provider-local .error")
        text = page.inner_text("#provider-local")
        assert "the threshold must be between 0 and 1" in text
        assert "Constraint" not in text
        assert "A check passes when its score is at or above the threshold" in text
        screenshot(page, f"forms-{width}-provider-refused")
    assert ProviderSetting.objects.get(provider="local").threshold == 0.5
