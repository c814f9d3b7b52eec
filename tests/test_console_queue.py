"""The review queue: order, SLA colours, filters, search, keyset pages, claims, bulk actions, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liveness.console.selectors import Cursor, QueueFilters, queue_page
from liveness.models import AuditEvent, Case, CaseStatus, Verdict
from liveness.services import claims
from tests.console_support import pipeline_case, scripted_result
from tests.factories import CaseFactory, CheckFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def _case(status: str = CaseStatus.NEEDS_REVIEW, *, minutes_ago: float = 0, **fields) -> Case:
    case = CaseFactory.create(status=status, **fields)
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    case.refresh_from_db()
    return case


def _ids(response) -> list[str]:
    return [str(row.case.public_id) for row in response.context["rows"]]


def test_needs_review_cases_come_first_oldest_first(operator_client: Client) -> None:
    decided_old = _case(CaseStatus.DECIDED, minutes_ago=500, auto_verdict=Verdict.LIVE)
    review_new = _case(minutes_ago=5)
    review_old = _case(minutes_ago=50)
    processing = _case(CaseStatus.PROCESSING, minutes_ago=1)
    response = operator_client.get(reverse("case_list"))
    assert _ids(response) == [str(c.public_id) for c in (review_old, review_new, decided_old, processing)]


def test_age_is_coloured_against_the_review_sla(operator_client: Client, settings) -> None:
    settings.REVIEW_SLA_MINUTES = 60
    fresh = _case(minutes_ago=10)
    nearly = _case(minutes_ago=50)
    late = _case(minutes_ago=61)
    done = _case(CaseStatus.DECIDED, minutes_ago=300)
    rows = {str(r.case.public_id): r for r in operator_client.get(reverse("case_list")).context["rows"]}
    assert rows[str(fresh.public_id)].sla == "ok"
    assert rows[str(nearly.public_id)].sla == "warn"
    assert rows[str(late.public_id)].sla == "over"
    assert rows[str(done.public_id)].sla == ""  # nobody is waiting on a decided case
    assert rows[str(late.public_id)].age == "1 h 01 min"


def test_the_header_counts_open_work(operator_client: Client, settings) -> None:
    settings.REVIEW_SLA_MINUTES = 30
    _case(minutes_ago=45)
    _case(minutes_ago=5)
    _case(CaseStatus.PENDING_APPROVAL, minutes_ago=40)
    _case(CaseStatus.PROCESSING)
    counts = operator_client.get(reverse("case_list")).context["counts"]
    assert (counts.needs_review, counts.pending_approval, counts.in_progress, counts.over_sla) == (2, 1, 1, 2)


@pytest.mark.parametrize(
    ("param", "matching", "other"),
    [
        ("status", {"status": CaseStatus.DECIDED}, {"status": CaseStatus.NEEDS_REVIEW}),
        ("kind", {"kind": "active"}, {"kind": "selfie"}),
        ("auto_verdict", {"auto_verdict": Verdict.SPOOF}, {"auto_verdict": Verdict.LIVE}),
        ("final_verdict", {"final_verdict": Verdict.LIVE}, {"final_verdict": ""}),
    ],
)
def test_a_filter_keeps_only_matching_cases(operator_client: Client, param, matching, other) -> None:
    keep = _case(**{"status": CaseStatus.NEEDS_REVIEW, **matching})
    _case(**{"status": CaseStatus.NEEDS_REVIEW, **other})
    response = operator_client.get(reverse("case_list"), {param: matching[param]})
    assert _ids(response) == [str(keep.public_id)]


def test_the_provider_filter_matches_cases_checked_by_that_provider(operator_client: Client) -> None:
    by_kairos = _case()
    CheckFactory.create(case=by_kairos, provider="kairos")
    CheckFactory.create(case=_case(), provider="local")
    response = operator_client.get(reverse("case_list"), {"provider": "kairos"})
    assert _ids(response) == [str(by_kairos.public_id)]


def test_the_partner_filter_separates_partners_and_console_uploads(operator_client: Client) -> None:
    bank = PartnerFactory.create(name="Bank")
    from_bank = _case(partner=bank)
    uploaded = _case(partner=None)
    _case()
    assert _ids(operator_client.get(reverse("case_list"), {"partner": bank.pk})) == [str(from_bank.public_id)]
    assert _ids(operator_client.get(reverse("case_list"), {"partner": "console"})) == [str(uploaded.public_id)]


def test_the_date_range_is_inclusive_of_both_days(operator_client: Client) -> None:
    today = timezone.localdate()
    inside = _case(minutes_ago=0)
    _case(minutes_ago=60 * 24 * 3)
    day = today.isoformat()
    response = operator_client.get(reverse("case_list"), {"created_from": day, "created_to": day})
    assert _ids(response) == [str(inside.public_id)]


def test_search_finds_a_case_by_its_id_or_partner_reference(operator_client: Client) -> None:
    wanted = _case(external_ref="APP-2024-0042")
    _case(external_ref="APP-2024-0043")
    by_ref = operator_client.get(reverse("case_list"), {"q": " APP-2024-0042 "})
    by_id = operator_client.get(reverse("case_list"), {"q": str(wanted.public_id).upper()})
    assert _ids(by_ref) == _ids(by_id) == [str(wanted.public_id)]


def test_invalid_filter_values_are_ignored_not_an_error(operator_client: Client) -> None:
    case = _case()
    response = operator_client.get(
        reverse("case_list"), {"status": "bogus", "created_from": "not-a-date", "after": "xx"}
    )
    assert response.status_code == 200
    assert _ids(response) == [str(case.public_id)]


@pytest.mark.parametrize(
    "params", [{"created_to": "9999-12-31"}, {"created_from": "9999-12-31"}, {"created_from": "0001-01-01"}]
)
def test_it_ignores_dates_at_the_ends_of_the_calendar_in_the_queue_and_the_export(
    operator_client: Client, params: dict[str, str]
) -> None:
    # The day after 9999-12-31 does not exist: building the range used to be an OverflowError (a 500, and a
    # CSV export that broke off after its header).
    case = _case()
    response = operator_client.get(reverse("case_list"), params)
    assert response.status_code == 200
    assert _ids(response) == [str(case.public_id)]
    assert [r["case_id"] for r in _csv(operator_client.get(reverse("case_export"), params))] == [str(case.public_id)]


def test_keyset_pages_walk_every_case_once_across_the_bucket_boundary(operator_client: Client) -> None:
    cases = [_case(minutes_ago=100 - i) for i in range(5)]
    cases += [_case(CaseStatus.DECIDED, minutes_ago=200 - i) for i in range(4)]
    # Same created_at for two cases: the id breaks the tie, none is skipped or repeated.
    twin = _case(CaseStatus.DECIDED)
    Case.objects.filter(pk=twin.pk).update(created_at=cases[-1].created_at)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = queue_page(QueueFilters(), cursor=cursor, size=3)
        seen += [str(c.public_id) for c in page.cases]
        pages += 1
        if not page.next_cursor:
            break
        cursor = Cursor.decode(page.next_cursor)
    assert len(seen) == len(set(seen)) == 10
    assert seen[:5] == [str(c.public_id) for c in cases[:5]]  # needs review first, oldest first
    assert pages == 4


def test_the_next_page_link_keeps_the_filters(operator_client: Client, settings) -> None:
    settings.CONSOLE_PAGE_SIZE = 2
    for i in range(3):
        _case(kind="active", minutes_ago=10 - i)
    _case(kind="selfie")
    first = operator_client.get(reverse("case_list"), {"kind": "active"})
    assert "kind=active" in first.context["next_url"]
    second = operator_client.get(reverse("case_list") + first.context["next_url"])
    assert len(_ids(first)) == 2
    assert len(_ids(second)) == 1
    assert not set(_ids(first)) & set(_ids(second))
    assert second.context["next_url"] == ""


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _seed_queue(n: int) -> None:
    partners = [PartnerFactory.create(), PartnerFactory.create()]
    for i in range(n):
        case = _case(
            CaseStatus.NEEDS_REVIEW if i % 2 else CaseStatus.DECIDED,
            minutes_ago=i,
            partner=partners[i % 2],
            auto_verdict=Verdict.NEEDS_REVIEW if i % 2 else Verdict.LIVE,
        )
        CheckFactory.create(case=case, provider="local", status="succeeded", score=0.4, outcome="borderline")
        CheckFactory.create(case=case, provider="kairos", status="failed", outcome="error")


def test_the_queue_query_count_does_not_grow_with_the_number_of_cases(supervisor_client: Client) -> None:
    url = reverse("case_list")
    _seed_queue(10)
    with_10 = _count_queries(supervisor_client, url)
    _seed_queue(190)
    with_200 = _count_queries(supervisor_client, url)
    assert with_10 == with_200
    # A single-status view walks one index range instead of two: one query fewer, still flat.
    assert _count_queries(supervisor_client, url + "?status=needs_review") == with_10 - 1


# --- claims --------------------------------------------------------------------------------------


def test_claiming_a_case_shows_who_works_on_it(client: Client, role_user) -> None:
    olga = role_user("operator", "olga")
    case = _case()
    client.force_login(olga)
    response = client.post(reverse("case_claim", args=[case.public_id]), follow=True)
    assert b"You are working on this case" in response.content
    case.refresh_from_db()
    assert case.claimed_by == olga
    assert case.claim_expires_at is not None
    assert case.claim_expires_at > timezone.now()
    row = client.get(reverse("case_list")).context["rows"][0]
    assert row.claimed_by == olga
    assert AuditEvent.objects.filter(case=case, action="case.claimed", actor=olga).exists()


def test_a_second_operator_cannot_take_a_claimed_case(client: Client, role_user) -> None:
    olga, omar = role_user("operator", "olga"), role_user("operator", "omar")
    case = _case()
    claims.case_claim(case=case, user=olga)
    client.force_login(omar)
    response = client.post(reverse("case_claim", args=[case.public_id]), follow=True)
    assert b"olga is working on this case" in response.content
    case.refresh_from_db()
    assert case.claimed_by == olga
    # Nor decide it behind the claim.
    decided = client.post(
        reverse("case_decide", args=[case.public_id]),
        {"verdict": "spoof", "reason": "x", "expected_version": Case.objects.get(pk=case.pk).version},
    )
    assert decided.status_code == 400
    assert b"olga is working on this case" in decided.content
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW


def test_an_expired_claim_can_be_taken_over(role_user) -> None:
    olga, omar = role_user("operator", "olga"), role_user("operator", "omar")
    case = _case()
    claims.case_claim(case=case, user=olga)
    Case.objects.filter(pk=case.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    claims.case_claim(case=case, user=omar)
    assert Case.objects.get(pk=case.pk).claimed_by == omar


def test_a_claim_is_a_conditional_update_so_only_one_of_two_racers_wins(role_user) -> None:
    olga, omar = role_user("operator", "olga"), role_user("operator", "omar")
    case = _case()
    stale_copy_for_omar = Case.objects.get(pk=case.pk)  # loaded before olga's claim, as in a race
    claims.case_claim(case=case, user=olga)
    with pytest.raises(claims.ClaimError) as refused:
        claims.case_claim(case=stale_copy_for_omar, user=omar)
    assert refused.value.code == "claimed"
    assert Case.objects.get(pk=case.pk).claimed_by == olga


def test_decided_cases_cannot_be_claimed(role_user) -> None:
    case = _case(CaseStatus.DECIDED)
    with pytest.raises(claims.ClaimError) as refused:
        claims.case_claim(case=case, user=role_user("operator", "olga"))
    assert refused.value.code == "not_claimable"


def test_releasing_returns_the_case_to_the_queue(client: Client, role_user) -> None:
    olga = role_user("operator", "olga")
    case = _case()
    claims.case_claim(case=case, user=olga)
    client.force_login(olga)
    client.post(reverse("case_release", args=[case.public_id]))
    assert Case.objects.get(pk=case.pk).claimed_by is None
    assert AuditEvent.objects.filter(case=case, action="case.released").exists()


def test_an_operator_cannot_release_someone_elses_claim_but_a_supervisor_can(client: Client, role_user) -> None:
    olga, omar, sam = role_user("operator", "olga"), role_user("operator", "omar"), role_user("supervisor", "sam")
    case = _case()
    claims.case_claim(case=case, user=olga)
    client.force_login(omar)
    response = client.post(reverse("case_release", args=[case.public_id]), follow=True)
    assert b"You hold no claim" in response.content
    assert Case.objects.get(pk=case.pk).claimed_by == olga
    client.force_login(sam)
    client.post(reverse("case_release", args=[case.public_id]))
    assert Case.objects.get(pk=case.pk).claimed_by is None


def test_review_next_claims_the_oldest_unclaimed_case(client: Client, role_user) -> None:
    olga, omar = role_user("operator", "olga"), role_user("operator", "omar")
    oldest = _case(minutes_ago=30)
    second = _case(minutes_ago=20)
    claims.case_claim(case=oldest, user=omar)
    client.force_login(olga)
    response = client.post(reverse("queue_take_next"))
    assert response["Location"] == reverse("case_detail", args=[second.public_id])
    assert Case.objects.get(pk=second.pk).claimed_by == olga
    # Asking again returns the case already held instead of grabbing another.
    again = client.post(reverse("queue_take_next"))
    assert again["Location"] == reverse("case_detail", args=[second.public_id])


def test_review_next_says_so_when_nothing_waits(operator_client: Client) -> None:
    _case(CaseStatus.DECIDED)
    response = operator_client.post(reverse("queue_take_next"), follow=True)
    assert b"Nothing is waiting for review" in response.content


def test_the_claim_filter_shows_my_cases(client: Client, role_user) -> None:
    olga = role_user("operator", "olga")
    mine = _case()
    _case()
    claims.case_claim(case=mine, user=olga)
    client.force_login(olga)
    assert _ids(client.get(reverse("case_list"), {"claim": "mine"})) == [str(mine.public_id)]
    assert str(mine.public_id) not in _ids(client.get(reverse("case_list"), {"claim": "unclaimed"}))


# --- bulk actions --------------------------------------------------------------------------------


def test_a_supervisor_assigns_cases_to_an_operator(supervisor_client: Client, role_user) -> None:
    olga = role_user("operator", "olga")
    first, second = _case(), _case()
    done = _case(CaseStatus.DECIDED)
    response = supervisor_client.post(
        reverse("queue_bulk"),
        {"action": "assign", "assignee": olga.pk, "cases": [first.public_id, second.public_id, done.public_id]},
        follow=True,
    )
    assert b"2 case(s) assigned to olga" in response.content
    assert b"nothing to assign" in response.content
    assert set(Case.objects.filter(claimed_by=olga).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert AuditEvent.objects.filter(action="case.assigned").count() == 2


def test_a_supervisor_requests_resubmission_for_many_cases(supervisor_client: Client, settings) -> None:
    settings.MAX_RESUBMISSIONS = 1
    fresh = _case()
    used_up = _case(resubmission_count=1)
    response = supervisor_client.post(
        reverse("queue_bulk"),
        {
            "action": "resubmit",
            "reason": "image too dark",
            "resubmission_reasons": ["blurry", "glare"],
            "cases": [fresh.public_id, used_up.public_id],
        },
        follow=True,
    )
    assert b"resubmission requested for 1 case(s)" in response.content
    assert b"resubmissions (the limit)" in response.content
    fresh.refresh_from_db()
    assert fresh.status == CaseStatus.RESUBMISSION_REQUESTED
    assert fresh.decisions.get().reason == "image too dark"
    assert fresh.decisions.get().resubmission_reasons == ["blurry", "glare"]
    assert Case.objects.get(pk=used_up.pk).status == CaseStatus.NEEDS_REVIEW


def test_bulk_resubmission_needs_a_reason(supervisor_client: Client) -> None:
    case = _case()
    response = supervisor_client.post(
        reverse("queue_bulk"), {"action": "resubmit", "reason": " ", "cases": [case.public_id]}, follow=True
    )
    assert b"a reason is required" in response.content
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW


def test_operators_cannot_run_bulk_actions(operator_client: Client, role_user) -> None:
    case = _case()
    response = operator_client.post(
        reverse("queue_bulk"), {"action": "assign", "assignee": 1, "cases": [case.public_id]}
    )
    assert response.status_code == 403
    assert operator_client.get(reverse("case_list")).context["can_bulk"] is False


def test_cases_cannot_be_assigned_to_someone_who_may_not_decide(supervisor_client: Client) -> None:
    from django.contrib.auth.models import User

    outsider = User.objects.create_user("outsider")
    case = _case()
    response = supervisor_client.post(
        reverse("queue_bulk"), {"action": "assign", "assignee": outsider.pk, "cases": [case.public_id]}, follow=True
    )
    assert b"outsider may not work on cases" in response.content
    assert Case.objects.get(pk=case.pk).claimed_by is None


# --- CSV export ----------------------------------------------------------------------------------


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_streams_the_filtered_list_as_csv(operator_client: Client, scripted) -> None:
    spoofed = pipeline_case(scripted, results=[scripted_result(0.1)], external_ref="ext-1")
    _case(kind="active")
    response = operator_client.get(reverse("case_export"), {"kind": "selfie"})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="cases-')
    rows = _csv(response)
    assert [r["case_id"] for r in rows] == [str(spoofed.public_id)]
    assert rows[0]["final_verdict"] == "spoof"
    assert rows[0]["checks"] == "scripted:succeeded:0.100"
    assert AuditEvent.objects.filter(action="queue.exported", data__filters={"kind": "selfie"}).exists()


def test_the_export_defuses_spreadsheet_formulas_in_partner_text(operator_client: Client) -> None:
    _case(external_ref='=HYPERLINK("http://evil.example")')
    rows = _csv(operator_client.get(reverse("case_export")))
    assert rows[0]["external_ref"] == '\'=HYPERLINK("http://evil.example")'


def test_the_export_keeps_the_queue_order(operator_client: Client) -> None:
    decided = _case(CaseStatus.DECIDED, minutes_ago=90)
    waiting = _case(minutes_ago=10)
    rows = _csv(operator_client.get(reverse("case_export")))
    assert [r["case_id"] for r in rows] == [str(waiting.public_id), str(decided.public_id)]
