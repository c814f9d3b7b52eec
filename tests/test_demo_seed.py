"""The one-command demo: logins for the three roles, the demo partner, and a demo case from the shipped
(public-domain) photo that the local engine decides live on its own, as the README says. No ../shared."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from liveness import services
from liveness.demo import seed
from liveness.models import Case, CaseStatus, Verdict

pytestmark = pytest.mark.django_db


def test_the_photo_ships_with_its_licence_and_is_not_read_from_shared():
    assert seed.DEMO_SELFIE.is_file()
    assert "shared" not in seed.DEMO_SELFIE.parts
    licence = (seed.DEMO_SELFIE.parent / "demo_selfie.LICENSE.txt").read_text()
    assert "Public domain" in licence
    assert "skimage/data/astronaut.png" in licence


def test_seed_demo_creates_the_logins_and_a_case_the_local_engine_decides_live():
    out = io.StringIO()
    call_command("seed_demo", "--password", "demo-pass-123", stdout=out)
    assert "queued (liveness/demo/demo_selfie.jpg)" in out.getvalue()

    seeded = seed.seed_demo(password="demo-pass-123")  # again: passwords reset, no second case
    assert Case.objects.filter(external_ref="demo-0001").count() == 1
    admin = seeded.users["admin"]
    assert admin.username == "demo-admin"
    assert admin.check_password("demo-pass-123")
    assert admin.is_staff
    assert admin.has_perm("liveness.change_partner")  # the Partners page (webhook URL and secret)
    assert not seeded.users["supervisor"].has_perm("liveness.change_partner")
    assert seeded.partner is not None
    assert seeded.partner.slug == "demo-bank"

    case = Case.objects.get(external_ref="demo-0001")
    assert case.providers == ["local"]
    for check in case.checks.all():
        services.check_execute(check_id=check.pk)  # what the worker does after commit
    case.refresh_from_db()
    assert (case.status, case.auto_verdict, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE, Verdict.LIVE)
    [check] = case.checks.all()
    assert check.outcome == "pass"
    assert check.score is not None
    assert check.threshold is not None
    assert check.review_margin is not None
    assert check.score >= check.threshold + check.review_margin  # a clear pass, not a borderline one


def test_without_the_photo_no_placeholder_is_queued_and_the_demo_says_so(monkeypatch):
    monkeypatch.setattr(seed, "DEMO_SELFIE", Path("/nonexistent/demo_selfie.jpg"))
    out = io.StringIO()
    call_command("seed_demo", "--password", "demo-pass-123", stdout=out)
    assert not Case.objects.filter(external_ref="demo-0001").exists()
    assert "no demo photo" in out.getvalue()
    assert "upload a selfie in the console" in out.getvalue()
