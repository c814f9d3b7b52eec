# ruff: noqa: E501, RUF001  (the reference template is the original markup, long lines and en dashes kept)
"""The queue's rows drawn in Python (presenters.queue_row_html) give the markup the template drew, and
the filter bar's QuickSelect the markup of Django's stock Select.

The reference below is the per-row template the queue page used before the rows moved to Python (for
speed at a million cases, issue 15); every variant of a row (bulk tick or not, partner or console, a
reference or none, checks with and without scores and outcomes, verdicts, a headline finding, a live
claim, HTML in partner-supplied text) must render to the same HTML, tag for tag.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django import forms
from django.contrib.auth.models import User
from django.template import engines
from django.utils import timezone

from liveness.console import presenters
from liveness.console.forms import QueueFilterForm, QuickSelect
from liveness.models import Case, CaseKind, CaseStatus, CheckOutcome, CheckStatus, Verdict
from tests.factories import CaseFactory, CheckFactory, PartnerFactory

pytestmark = pytest.mark.django_db

REFERENCE_ROW = """{% for row in rows %}{% with case=row.case %}
    <tr class="status-{{ case.status }}" data-case="{{ case.public_id }}">
      {% if can_bulk %}<td class="tick"><input type="checkbox" name="cases" value="{{ case.public_id }}" aria-label="Select case {{ case.public_id|stringformat:'s'|slice:':8' }}" data-bulk-item></td>{% endif %}
      <td class="cell-case"><a href="{% url 'case_detail' case.public_id %}" class="caseid">{{ case.public_id|stringformat:"s"|slice:":8" }}</a>
        {% if case.external_ref %}<div class="muted small">{{ case.external_ref }}</div>{% endif %}</td>
      <td data-label="Partner">{{ case.partner.name|default:"console" }}</td>
      <td data-label="Kind">{{ case.get_kind_display }}</td>
      <td data-label="Status"><span class="badge st-{{ case.status }}">{{ case.get_status_display }}</span></td>
      <td class="checkbadges" data-label="Checks">{% for check in row.checks %}<span class="badge oc-{{ check.outcome|default:check.status }}" title="{{ check.provider }}: {{ check.get_outcome_display|default:check.get_status_display }}">{{ check.provider }}{% if check.score is not None %} {{ check.score|floatformat:2 }}{% endif %}</span>{% empty %}<span class="muted">–</span>{% endfor %}</td>
      <td data-label="Automatic">{% if case.auto_verdict %}<span class="verdict v-{{ case.auto_verdict }}">{{ case.get_auto_verdict_display }}</span>{% else %}–{% endif %}{% if row.headline %} <span class="badge reasoncode{% if row.headline.is_mismatch %} mismatch{% endif %}" data-code="{{ row.headline.code }}" title="{{ row.headline.meaning }}">{{ row.headline.label }}</span>{% endif %}</td>
      <td data-label="Final">{% if case.final_verdict %}<span class="verdict v-{{ case.final_verdict }}">{{ case.get_final_verdict_display }}</span>{% else %}–{% endif %}</td>
      <td data-label="Age"><span class="age sla-{{ row.sla|default:'none' }}" title="created {{ case.created_at|date:'Y-m-d H:i:s' }}">{{ row.age }}</span></td>
      <td data-label="Claimed by">{% if row.claimed_by %}{{ row.claimed_by.get_username }}<div class="muted small">until {{ row.claim_expires_at|date:"H:i" }}</div>{% else %}<span class="muted">–</span>{% endif %}</td>
    </tr>
  {% endwith %}{% endfor %}"""


def _tags(html: str) -> list[str]:
    """The rows with the template's indentation between tags removed (text inside tags is kept)."""
    return [row for row in re.sub(r">\s+<", "><", html.strip()).split("<tr ") if row]


def _varied_cases(user: User) -> list[Case]:
    now = timezone.now()
    plain = CaseFactory.create(partner=None, external_ref="", status=CaseStatus.RECEIVED)
    scored = CaseFactory.create(
        partner=PartnerFactory.create(name='Bank <b>"&amp;'),
        external_ref="<script>x</script>",
        kind=CaseKind.ACTIVE,
        status=CaseStatus.NEEDS_REVIEW,
        auto_verdict=Verdict.SPOOF,
        reason_codes=["face_mismatch"],
    )
    for provider, score, outcome, status in (
        ("kairos", 0.125, CheckOutcome.PASS, CheckStatus.SUCCEEDED),  # half-way: floatformat rounds half up
        ("riset", 0.5, "", CheckStatus.FAILED),
        ("local", None, "", CheckStatus.QUEUED),
        ("faceplus", 0.999, CheckOutcome.BORDERLINE, CheckStatus.SUCCEEDED),
    ):
        CheckFactory.create(case=scored, score=score, outcome=outcome, status=status, provider=provider)
    decided = CaseFactory.create(
        status=CaseStatus.DECIDED,
        auto_verdict=Verdict.LIVE,
        final_verdict=Verdict.RESUBMIT,
        claimed_by=user,
        claim_expires_at=now + timedelta(minutes=20),
        reason_codes=["blurry", 3],
    )
    CheckFactory.create(case=decided, score=0.0, outcome=CheckOutcome.PASS, status=CheckStatus.SUCCEEDED)
    stale_claim = CaseFactory.create(claimed_by=user, claim_expires_at=now - timedelta(minutes=1))
    return list(
        Case.objects.filter(pk__in=[c.pk for c in (plain, scored, decided, stale_claim)])
        .select_related("partner", "claimed_by")
        .prefetch_related("checks")
        .order_by("pk")
    )


@pytest.mark.parametrize("can_bulk", [True, False])
def test_python_rows_equal_the_template_rows(can_bulk: bool, olga: User, settings) -> None:
    settings.TIME_ZONE = "Europe/Paris"  # dates are shown in the portal's zone, not UTC
    with timezone.override("Europe/Paris"):
        rows = presenters.queue_rows(_varied_cases(olga), now=timezone.now(), sla_minutes=30)
        reference = engines["django"].from_string(REFERENCE_ROW).render({"rows": rows, "can_bulk": can_bulk})
        drawn = "".join(row.html for row in presenters.queue_rows_html(rows, can_bulk=can_bulk))
    assert len(_tags(reference)) == 4
    assert _tags(drawn) == _tags(reference)
    assert "&lt;script&gt;" in drawn  # partner text stays escaped
    assert "<script>" not in drawn


@pytest.mark.parametrize(
    "data",
    [None, {}, {"status": "needs_review", "partner": "console"}, {"partner": "PARTNER", "kind": "bogus<"}],
)
def test_quick_select_draws_what_the_stock_select_drew(data: dict[str, str] | None) -> None:
    partner = PartnerFactory.create(name='Bank <i>"&')
    if data and data.get("partner") == "PARTNER":
        data = {**data, "partner": str(partner.pk)}
    quick = QueueFilterForm(data, partners=[partner])
    stock = QueueFilterForm(data, partners=[partner])
    selects = [name for name, f in quick.fields.items() if isinstance(f.widget, QuickSelect)]
    assert len(selects) == 7
    for name in selects:
        stock.fields[name].widget = forms.Select(choices=stock.fields[name].choices)  # type: ignore[attr-defined]
    for name in selects:
        drawn, reference = str(quick[name]), str(stock[name])
        assert re.sub(r">\s+<", "><", drawn) == re.sub(r">\s+<", "><", reference.strip()), name
    if data and data.get("status"):
        assert '<option value="needs_review" selected>' in str(quick["status"])


REFERENCE_DAYS = """{% for d in board.days %}<tr><td>{{ d.day|date:"Y-m-d" }}</td><td>{{ d.total }}</td><td>{{ d.live }}</td><td>{{ d.spoof }}</td><td>{{ d.resubmit }}</td><td>{{ d.undecided }}</td><td>{{ d.auto }}</td><td>{{ d.operator }}</td></tr>{% endfor %}"""


def test_dashboard_day_rows_equal_the_template_rows() -> None:
    from datetime import date

    from liveness.console.stats import DayRow
    from liveness.console.views.dashboard import day_rows_html

    days = [
        DayRow(day=date(2026, 1, 1) + timedelta(days=i), total=1234 * i, live=i, spoof=0, resubmit=7, auto=99999)
        for i in range(40)
    ]
    reference = engines["django"].from_string(REFERENCE_DAYS).render({"board": {"days": days}})
    assert day_rows_html(days) == reference
    assert "<td>2026-02-09</td><td>48126</td>" in reference
