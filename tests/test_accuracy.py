"""The accuracy report: error rates against operators' verdicts, on data whose right answers are known."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liveness.console import accuracy
from liveness.console.accuracy import Targets, accuracy_report, wilson
from liveness.demo.history import REF_PREFIX, load_table
from liveness.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Check,
    CheckOutcome,
    CheckStatus,
    Decision,
    ProviderSetting,
    Verdict,
)
from liveness.services import provider_setting_get
from tests.api_helpers import client_for, user_key
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PERIOD: dict[str, Any] = {"start": TODAY - timedelta(days=29), "end": TODAY}
HUMAN_LIVE = [0.2, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 1.0]  # 2 below 0.5
HUMAN_SPOOF = [0.05, 0.1, 0.3, 0.55, 0.7]  # 2 at or above 0.5


@pytest.fixture
def person(db):
    return UserFactory.create(username="olivia")


def make_case(
    person, verdict: str | None, *, auto: str = Verdict.NEEDS_REVIEW, kind: str = "selfie", round_: int = 1
) -> Case:
    """A case decided by a person (verdict, auto), by the policy only (verdict=None, auto live/spoof), or
    waiting (verdict=None, auto needs_review)."""
    human = verdict is not None
    final = verdict if human else (auto if auto in (Verdict.LIVE, Verdict.SPOOF) else "")
    case: Case = CaseFactory.create(
        kind=kind,
        status=CaseStatus.DECIDED if final else CaseStatus.NEEDS_REVIEW,
        auto_verdict=auto,
        final_verdict=final,
        decided_by=person if human else None,
        decided_at=timezone.now() if final else None,
        round=round_,
    )
    return case


def make_check(case: Case, score: float | None, *, provider: str = "local", stored: float = 0.6, **extra) -> Check:
    status = extra.pop("status", CheckStatus.SUCCEEDED)
    outcome = extra.pop("outcome", "")
    if not outcome:
        outcome = (
            CheckOutcome.ERROR
            if status == CheckStatus.FAILED
            else CheckOutcome.NOT_ASSESSED
            if score is None
            else CheckOutcome.PASS
            if score >= stored
            else CheckOutcome.FAIL
        )
    return Check.objects.create(
        case=case,
        round=extra.pop("round", case.round),
        provider=provider,
        status=status,
        score=score,
        threshold=stored,
        review_margin=0.1,
        passed=extra.pop("passed", None if score is None else score >= stored),
        outcome=outcome,
        finished_at=timezone.now(),
        **extra,
    )


@pytest.fixture
def known(person):
    """Labelled checks whose rates are known by hand (local: current threshold 0.5, margin 0.1; every check
    was judged at 0.6), plus checks that must not count."""
    provider_setting_get("local")
    ProviderSetting.objects.filter(provider="local").update(threshold=0.5, review_margin=0.1)
    for score in HUMAN_LIVE:
        make_check(make_case(person, Verdict.LIVE), score)
    for score in HUMAN_SPOOF:
        make_check(make_case(person, Verdict.SPOOF), score)
    # Automatic-only verdicts: they would be three BPCER errors and two APCER errors if counted.
    for _ in range(3):
        make_check(make_case(person, None, auto=Verdict.LIVE), 0.01)
    for _ in range(2):
        make_check(make_case(person, None, auto=Verdict.SPOOF), 0.99)
    make_check(make_case(person, None), 0.47)  # waiting for review: no label, inside the review band
    # Counted apart: a finding (high score, but never a pass), an unscored check, a failed call.
    make_check(make_case(person, Verdict.SPOOF), 0.9, outcome=CheckOutcome.FINDING, passed=False)
    make_check(make_case(person, Verdict.LIVE), None, reason="no_face")
    make_check(make_case(person, Verdict.LIVE), None, status=CheckStatus.FAILED, error_code="timeout")
    # A resubmitted case: only its current round (2) counts, not round 1's low score.
    resubmitted = make_case(person, Verdict.LIVE, round_=2)
    make_check(resubmitted, 0.05, round=1)
    make_check(resubmitted, 0.85)


def local_row(report: accuracy.AccuracyReport) -> accuracy.ProviderAccuracy:
    (row,) = [r for r in report.rows if r.provider == "local"]
    return row


def test_wilson_interval_matches_published_values():
    assert wilson(2, 10) == pytest.approx((0.0567, 0.5098), abs=1e-4)
    assert wilson(2, 5) == pytest.approx((0.1176, 0.7693), abs=1e-4)
    assert wilson(0, 52) == pytest.approx((0.0, 0.0688), abs=1e-4)
    assert wilson(0, 0) is None


def test_apcer_and_bpcer_at_the_current_threshold_with_intervals(known):
    row = local_row(accuracy_report(**PERIOD))
    assert row.threshold == 0.5
    # Live: 10 from the list + the resubmitted case's round 2 (0.85) = 11, of which 0.2 and 0.45 refused.
    assert (row.bpcer.errors, row.bpcer.total) == (2, 11)
    assert row.bpcer.interval == pytest.approx(wilson(2, 11))
    # Spoof: 0.55 and 0.7 accepted; the finding (0.9) is not an APCER error, it is counted apart.
    assert (row.apcer.errors, row.apcer.total) == (2, 5)
    assert row.apcer.interval == pytest.approx((0.1176, 0.7693), abs=1e-4)
    # As judged (each check stored 0.6): live below 0.6 is still 2; spoof at or above 0.6 only 0.7.
    assert (row.bpcer_as_judged.errors, row.bpcer_as_judged.total) == (2, 11)
    assert (row.apcer_as_judged.errors, row.apcer_as_judged.total) == (1, 5)
    assert (row.findings, row.unscored, row.errors) == (1, 1, 1)


def test_automatic_only_cases_are_never_labels(known, person):
    report = accuracy_report(**PERIOD)
    row = local_row(report)
    assert row.automatic_only == 5
    assert row.undecided == 1
    assert (row.table.live_total, row.table.spoof_total) == (11, 5)
    assert report.automatic_only_cases == 5
    assert report.human_cases == 19  # 10 + 5 + finding + unscored + failed + resubmitted
    # More automatic verdicts, however wrong they look, change no rate.
    for _ in range(20):
        make_check(make_case(person, None, auto=Verdict.LIVE), 0.02)
    again = local_row(accuracy_report(**PERIOD))
    assert (again.bpcer.errors, again.bpcer.total, again.apcer.errors, again.apcer.total) == (2, 11, 2, 5)
    assert again.automatic_only == 25


def test_the_review_rate_of_the_margin(known):
    row = local_row(accuracy_report(**PERIOD))
    # Scored checks of any label in [0.4, 0.6): 0.45 (live), 0.55 (spoof), 0.47 (waiting) of 11+5+5+1 = 22.
    assert (row.in_review_band, row.scored) == (3, 22)


def test_suggested_threshold_for_a_target_bpcer(known):
    row = local_row(accuracy_report(**PERIOD, targets=Targets(bpcer=0.10)))
    (suggestion,) = row.suggestions
    assert suggestion.bpcer is not None
    assert suggestion.apcer is not None
    # 11 live scores: at most floor(1.1) = 1 may be refused, so the threshold is the 2nd lowest, 0.45.
    assert suggestion.threshold == 0.45
    assert (suggestion.bpcer.errors, suggestion.bpcer.total) == (1, 11)
    assert (suggestion.apcer.errors, suggestion.apcer.total) == (2, 5)  # 0.55 and 0.7
    # Moving 0.5 -> 0.45 flips the labelled 0.45 and the waiting 0.47.
    assert (suggestion.changed_labelled, suggestion.changed_all) == (1, 2)


def test_suggested_threshold_for_a_target_apcer(known):
    row = local_row(accuracy_report(**PERIOD, targets=Targets(bpcer=None, apcer=0.20)))
    (suggestion,) = row.suggestions
    assert suggestion.bpcer is not None
    assert suggestion.apcer is not None
    # 5 attacks: 1 may be accepted, so the threshold must lie above the 2nd highest (0.55): the next labelled
    # score is 0.6, where only 0.7 is accepted and live 0.2, 0.45 are refused.
    assert suggestion.target == "apcer"
    assert suggestion.threshold == 0.6
    assert (suggestion.apcer.errors, suggestion.bpcer.errors) == (1, 2)
    assert suggestion.changed_labelled == 1  # the spoof at 0.55
    # Nothing changed: a suggestion is never applied by itself.
    assert ProviderSetting.objects.get(provider="local").threshold == 0.5


def test_no_threshold_meets_an_apcer_target_above_every_score(person):
    make_check(make_case(person, Verdict.SPOOF), 1.0)
    make_check(make_case(person, Verdict.LIVE), 0.9)
    row = local_row(accuracy_report(**PERIOD, targets=Targets(bpcer=None, apcer=0.0)))
    assert row.suggestions[0].threshold is None
    assert "no threshold" in row.suggestions[0].note


def test_the_curve_agrees_with_the_database_counts(known):
    row = local_row(accuracy_report(**PERIOD))
    at_current = row.table.apcer(row.threshold), row.table.bpcer(row.threshold)
    assert at_current == (row.apcer, row.bpcer)
    curve = row.curve()
    assert curve[0] == {"threshold": 0.05, "apcer": 1.0, "bpcer": 0.0}
    assert curve[-1]["threshold"] == 1.0
    assert curve[-1]["apcer"] == 0.0
    thresholds = [float(p["threshold"] or 0.0) for p in curve]
    assert thresholds == sorted(thresholds)
    histogram = row.histogram()
    assert sum(histogram["live"]) == 11
    assert sum(histogram["spoof"]) == 5
    assert histogram["spoof"][1] == 1
    assert histogram["spoof"][2] == 1


def test_disagreements_and_whom_the_operators_sided_with(person):
    for verdict, local_passed, kairos_passed in (
        (Verdict.LIVE, True, False),  # local right
        (Verdict.LIVE, True, False),  # local right
        (Verdict.SPOOF, True, False),  # kairos right
        (Verdict.LIVE, True, True),  # agreement: not counted
    ):
        case = make_case(person, verdict)
        make_check(case, 0.9 if local_passed else 0.1)
        make_check(case, 0.9 if kairos_passed else 0.1, provider="kairos")
    automatic = make_case(person, None, auto=Verdict.LIVE)  # disagreeing, but no person decided it
    make_check(automatic, 0.9)
    make_check(automatic, 0.1, provider="kairos")
    result = accuracy_report(**PERIOD).disagreements
    assert result.cases == 3
    by_provider = {p.provider: (p.agreed, p.checks) for p in result.providers}
    assert by_provider == {"local": (2, 3), "kairos": (1, 3)}
    assert {e.human_verdict for e in result.examples} == {"live", "spoof"}
    assert all(set(e.outcomes) == {"local", "kairos"} for e in result.examples)


def _populate(person, n: int) -> None:
    for i in range(n):
        case = make_case(person, Verdict.LIVE if i % 3 else Verdict.SPOOF)
        make_check(case, (i % 10) / 10)
        make_check(case, 1 - (i % 10) / 10, provider="kairos")
        make_check(make_case(person, None, auto=Verdict.LIVE), 0.8)


def test_query_counts_do_not_grow_with_the_number_of_cases(person, role_user, client):
    client.force_login(role_user("supervisor", "sam"))
    counts = []
    for size in (3, 40):
        _populate(person, size)
        with CaptureQueriesContext(connection) as report_queries:
            accuracy_report(**PERIOD, targets=Targets(bpcer=0.05, apcer=0.05))
        with CaptureQueriesContext(connection) as page_queries:
            assert client.get(reverse("accuracy"), {"target_apcer": "5"}).status_code == 200
        counts.append((len(report_queries), len(page_queries)))
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 8


def test_csv_export_of_the_per_check_table(known, role_user, client):
    client.force_login(role_user("supervisor", "sam"))
    response = client.get(reverse("accuracy_export"), {"provider": "local"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == list(accuracy.CSV_COLUMNS)
    body = rows[1:]
    assert len(body) == 10 + 5 + 5 + 1 + 3 + 1  # the resubmitted case's round 1 is not in it
    by_score = {(r[3], r[5], r[6]) for r in body}
    assert ("0.4500", "live", "needs_review") in by_score
    assert ("0.0100", "", "live") in by_score  # automatic only: no human verdict
    assert all(len(r[2]) == 8 and r[4] == "0.6000" for r in body)
    assert AuditEvent.objects.filter(action="accuracy.exported").count() == 1
    bad = client.get(reverse("accuracy_export"), {"start": "2026-02-30"})
    assert bad.status_code == 400
    assert b"start" in bad.content


def test_the_page_is_for_supervisors_only(known, role_user, client):
    client.force_login(role_user("operator", "olga"))
    assert client.get(reverse("accuracy")).status_code == 403
    assert client.get(reverse("accuracy_export")).status_code == 403
    assert b'href="/accuracy/"' not in client.get(reverse("case_list")).content
    client.force_login(role_user("supervisor", "sam"))
    page = client.get(reverse("accuracy"), {"target_bpcer": "10"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/accuracy/"' in html  # in the navigation
    assert "2 of 11" in html
    assert "2 of 5" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "js/accuracy.js" in html
    assert "<script>" not in html.replace('<script id="accuracy-data" type="application/json">', "")
    chart = json.loads(html.split('id="accuracy-data" type="application/json">')[1].split("</script>")[0])
    assert chart["rows"][0]["suggested"] == [0.45]
    assert "/providers/?provider=local&amp;threshold=0.4500#provider-local" in html
    assert client.get(reverse("accuracy"), {"end": "not a date"}).status_code == 400


def test_apply_only_prefills_the_audited_settings_form(known, role_user, client):
    client.force_login(role_user("supervisor", "sam"))
    page = client.get(reverse("provider_settings"), {"provider": "local", "threshold": "0.4500"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="suggested-local"' in html
    assert 'name="local-threshold" value="0.45"' in html
    assert ProviderSetting.objects.get(provider="local").threshold == 0.5
    assert not AuditEvent.objects.filter(action="provider_setting.changed").exists()


def test_api_returns_the_same_figures_to_supervisors_only(known, role_user):
    supervisor = client_for(user_key(role_user("supervisor", "sam")))
    response = supervisor.get("/api/v1/supervisor/accuracy/", {"target_bpcer": "10", "provider": "local"})
    assert response.status_code == 200
    body = response.json()
    (row,) = body["providers"]
    interval = wilson(2, 11)
    assert interval is not None
    assert row["bpcer"] == {
        "value": round(2 / 11, 4),
        "error_count": 2,
        "labels": 11,
        "interval_95": pytest.approx([round(v, 4) for v in interval]),
    }
    assert row["apcer"]["error_count"] == 2
    assert row["apcer"]["labels"] == 5
    assert row["labels"]["automatic_only_checks"] == 5
    assert row["suggestions"][0]["threshold"] == 0.45
    assert body["cases"]["automatic_only"] == 5
    operator = client_for(user_key(role_user("operator", "olga")))
    denied = operator.get("/api/v1/supervisor/accuracy/")
    assert denied.status_code == 403
    assert denied.json()["code"] == "supervisor_required"
    assert client_for().get("/api/v1/supervisor/accuracy/").status_code == 401
    bad = supervisor.get("/api/v1/supervisor/accuracy/", {"target_bpcer": "150"})
    assert bad.status_code == 400
    assert "target_bpcer" in bad.json()["errors"]


def test_the_api_is_in_the_openapi_schema():
    schema = client_for().get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/supervisor/accuracy/"]["get"]
    assert operation["operationId"] == "supervisor_accuracy"
    assert {p["name"] for p in operation["parameters"]} >= {"start", "end", "provider", "kind", "target_bpcer"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/AccuracyReport")


# --- demo history ---


def test_seed_demo_creates_a_history_once_and_keeps_the_demo_case():
    # (The demo case's checks are enqueued on commit, which a test transaction never reaches.)
    call_command("seed_demo", "--password", "demo-pass-123", stdout=io.StringIO())
    history = Case.objects.filter(external_ref__startswith=REF_PREFIX)
    assert history.count() == 360
    assert Case.objects.filter(external_ref="demo-0001").count() == 1
    counts = (Case.objects.count(), Check.objects.count(), Decision.objects.count())
    call_command("seed_demo", "--password", "demo-pass-123", stdout=io.StringIO())
    assert (Case.objects.count(), Check.objects.count(), Decision.objects.count()) == counts
    oldest = history.order_by("created_at").first()
    assert oldest is not None
    assert oldest.created_at < timezone.now() - timedelta(days=20)
    report = accuracy_report(start=TODAY - timedelta(days=31), end=TODAY)
    rows = {r.provider: r for r in report.rows}
    assert set(rows) >= {"local", "accura_face", "kairos"}
    assert report.human_cases > 50
    assert report.automatic_only_cases > report.human_cases
    for row in rows.values():
        assert row.bpcer.total > 30
        assert row.apcer.total > 5
    assert any(r.apcer.errors for r in rows.values())
    assert any(r.bpcer.errors for r in rows.values())
    # Four-eyes: an override of an automatic spoof to live carries a supervisor's approval.
    for decision in Decision.objects.filter(is_override=True, previous_verdict=Verdict.SPOOF, verdict=Verdict.LIVE):
        assert decision.approver is not None
        assert decision.approver != decision.actor


def test_demo_scores_come_from_the_committed_engine_table():
    table = load_table()
    assert len(table["genuine"].scores) >= 50
    assert table["spoof-print"].scores
    assert table["spoof-screen"].scores
    raw = json.loads(accuracy_path().read_text())
    assert set(raw) == {"about", "passive_models", "labels"}  # numbers only: no file names, no images


def accuracy_path() -> Path:
    from liveness.demo.history import SCORE_TABLE

    return SCORE_TABLE


TESTDATA = Path(settings.BASE_DIR).parent / "shared" / "testdata"


@pytest.mark.skipif(not (TESTDATA / "labels.csv").is_file(), reason="needs ../shared/testdata")
def test_measure_demo_scores_regenerates_the_table_from_labelled_images(tmp_path):
    if not settings.LOCAL_ENGINE_PASSIVE_MODELS:
        pytest.skip("needs the passive models (LOCAL_ENGINE_PASSIVE_MODELS)")
    lines = (TESTDATA / "labels.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    wanted = [r for r in rows if r.startswith("spoof/")][:1] + [r for r in rows if r.startswith("genuine/")][:1]
    folder = tmp_path / "data"
    for row in wanted:
        name = row.split(",")[0]
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TESTDATA / name, folder / name)
    (folder / "labels.csv").write_text("\n".join([header, *wanted]) + "\n")
    output = tmp_path / "scores.json"
    call_command("measure_demo_scores", str(folder), "--output", str(output), stdout=io.StringIO())
    table = json.loads(output.read_text())
    scored = sum(len(v["scores"]) for v in table["labels"].values()) + sum(
        v["unscored"] for v in table["labels"].values()
    )
    assert scored == 2
    assert "genuine" in table["labels"]
    assert all(0.0 <= s <= 1.0 for v in table["labels"].values() for s in v["scores"])
    assert ".jpg" not in output.read_text()
