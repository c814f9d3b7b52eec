"""How good is each provider: error rates against the verdicts operators gave, and the threshold to choose.

**Ground truth** is the final verdict a person gave: a case whose ``final_verdict`` is live or spoof and
whose ``decided_by`` is set (an operator's decision, or an override a second supervisor approved —
``services.decisions._apply_decision`` sets both). The automatic verdict is never a label: a case the
policy decided alone is counted as *automatic only* and left out of every rate (it cannot measure the
policy's own mistakes). Users who decided cases cannot be deleted (``Decision.actor`` protects them), so
``decided_by`` is never lost. A resubmitted case is judged on its current round: only checks of
``Case.round`` count.

With spoof as the attack and live as bona fide (ISO/IEC 30107-3):

- **APCER** = human-spoof checks with ``score >= threshold`` / human-spoof checks with a score;
- **BPCER** = human-live checks with ``score < threshold`` / human-live checks with a score;

both at the provider's **current** threshold (``ProviderSetting``: what a supervisor is evaluating), and
also "as judged" at the threshold stored on each check. 95 % intervals are Wilson score intervals.
Checks with a finding (never a pass whatever their score), without a score (not assessed) or failed
(provider error) are counted apart, never as errors of the score.

Every count is a conditional aggregate in the database; the error-rate curve, the score histograms and
the suggested thresholds come from one grouped query (one row per distinct score), so the number of
queries does not depend on the number of cases.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from statistics import NormalDist
from typing import Any

from django.db.models import Case as When_Case
from django.db.models import Count, F, FloatField, Q, QuerySet, Value, When

from ..engine import pad_metrics
from ..models import Case, CaseKind, Check, CheckOutcome, CheckStatus, ProviderSetting, Verdict
from ..providers import UnknownProvider, all_providers, get_provider
from .stats import _bounds

#: The default target of a suggested threshold: BPCER 5 % (the standard's BPCER20 operating point).
DEFAULT_TARGET_BPCER = pad_metrics.BPCER_TARGET
CONFIDENCE = 0.95
HISTOGRAM_BINS = 20
#: How many disagreement cases are listed by name (the counts cover them all).
DISAGREEMENT_EXAMPLES = 20

_DECIDED = (Verdict.LIVE, Verdict.SPOOF)
_SETTLED = (CheckStatus.SUCCEEDED, CheckStatus.FAILED)

# --- the labels, as conditions on a Check row ---
HUMAN = Q(case__decided_by__isnull=False, case__final_verdict__in=_DECIDED)
HUMAN_LIVE = Q(case__decided_by__isnull=False, case__final_verdict=Verdict.LIVE)
HUMAN_SPOOF = Q(case__decided_by__isnull=False, case__final_verdict=Verdict.SPOOF)
AUTOMATIC_ONLY = Q(case__decided_by__isnull=True, case__final_verdict__in=_DECIDED)
#: A score the rates can use: the call succeeded, gave a score, and established no finding.
SCORED = Q(status=CheckStatus.SUCCEEDED, score__isnull=False) & ~Q(outcome=CheckOutcome.FINDING)


def wilson(successes: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (better than the normal one near 0 %, 100 % and small n)."""
    if total <= 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    """``errors`` of ``total`` labelled presentations, with its 95 % Wilson interval."""

    errors: int
    total: int

    @property
    def value(self) -> float | None:
        return self.errors / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.errors, self.total)

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "value": _round(self.value),
            "error_count": self.errors,
            "labels": self.total,
            "interval_95": None if interval is None else [_round(interval[0]), _round(interval[1])],
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class ScoreRow:
    """How many checks had exactly this score: human-live, human-spoof, and everything else."""

    score: float
    live: int
    spoof: int
    other: int


@dataclass
class ScoreTable:
    """The distinct scores of one provider and kind, ascending, with cumulative counts for O(log n) reads."""

    rows: list[ScoreRow]
    _scores: list[float] = field(init=False, repr=False)
    _live: list[int] = field(init=False, repr=False)
    _spoof: list[int] = field(init=False, repr=False)
    _all: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rows.sort(key=lambda r: r.score)
        self._scores = [r.score for r in self.rows]
        self._live, self._spoof, self._all = [0], [0], [0]
        for r in self.rows:
            self._live.append(self._live[-1] + r.live)
            self._spoof.append(self._spoof[-1] + r.spoof)
            self._all.append(self._all[-1] + r.live + r.spoof + r.other)

    @property
    def live_total(self) -> int:
        return self._live[-1]

    @property
    def spoof_total(self) -> int:
        return self._spoof[-1]

    @property
    def all_total(self) -> int:
        return self._all[-1]

    def _below(self, threshold: float) -> int:
        """Index of the first score >= threshold: everything before it is refused."""
        return bisect.bisect_left(self._scores, threshold)

    def bpcer(self, threshold: float) -> Rate:
        return Rate(self._live[self._below(threshold)], self.live_total)

    def apcer(self, threshold: float) -> Rate:
        return Rate(self.spoof_total - self._spoof[self._below(threshold)], self.spoof_total)

    def in_band(self, low: float, high: float) -> int:
        """Checks of any label with low <= score < high."""
        return self._all[self._below(high)] - self._all[self._below(low)]

    def labelled_in_band(self, low: float, high: float) -> int:
        i, j = self._below(low), self._below(high)
        return (self._live[j] - self._live[i]) + (self._spoof[j] - self._spoof[i])

    def labelled_thresholds(self) -> list[float]:
        """The curve's thresholds: every distinct labelled score (threshold = that score accepts it), and 1.0."""
        found = [r.score for r in self.rows if r.live or r.spoof]
        if not found or found[-1] < 1.0:
            found.append(1.0)
        return found

    def live_scores(self) -> list[float]:
        return [r.score for r in self.rows for _ in range(r.live)]

    def spoof_scores(self) -> list[float]:
        return [r.score for r in self.rows for _ in range(r.spoof)]


def threshold_for_apcer(table: ScoreTable, target: float) -> float | None:
    """The lowest threshold (among the curve's) whose APCER is at most ``target``: refusing as few bona
    fide presentations as it can. At most floor(target x attacks) attacks may be accepted, so the threshold
    must lie above the (k+1)-th highest attack score. None when no threshold <= 1 does it."""
    attacks = sorted(table.spoof_scores(), reverse=True)
    if not attacks:
        return None
    allowed = math.floor(target * len(attacks) + 1e-9)
    if allowed >= len(attacks):
        return table.labelled_thresholds()[0]
    must_exceed = attacks[allowed]
    candidates = table.labelled_thresholds()
    index = bisect.bisect_right(candidates, must_exceed)
    return candidates[index] if index < len(candidates) else None


@dataclass(frozen=True)
class Suggestion:
    """A threshold meeting a target error rate on the data; shown, never applied by itself."""

    target: str  # "bpcer" or "apcer"
    target_rate: float
    threshold: float | None
    apcer: Rate | None = None
    bpcer: Rate | None = None
    #: Labelled checks whose pass/fail would differ from the current threshold's.
    changed_labelled: int = 0
    #: All scored checks of the period (automatic-only and undecided cases too) whose pass/fail would differ.
    changed_all: int = 0
    review_rate: float | None = None
    note: str = ""

    @property
    def target_percent(self) -> float:
        return self.target_rate * 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_rate": self.target_rate,
            "threshold": _round(self.threshold),
            "apcer": None if self.apcer is None else self.apcer.as_dict(),
            "bpcer": None if self.bpcer is None else self.bpcer.as_dict(),
            "changed_verdicts_labelled": self.changed_labelled,
            "changed_verdicts_all": self.changed_all,
            "review_rate": _round(self.review_rate),
            "note": self.note,
        }


@dataclass
class ProviderAccuracy:
    provider: str
    kind: str
    threshold: float  # the provider's current setting
    review_margin: float
    checks: int  # settled checks of the current round, cases received in the period
    labelled: int  # ... in cases a person decided live or spoof
    automatic_only: int  # ... in cases only the policy decided
    undecided: int  # ... in cases without a live/spoof verdict (waiting, resubmission, closed)
    findings: int  # labelled checks with a finding: counted apart
    unscored: int  # labelled checks without a score (not assessed): counted apart
    errors: int  # labelled checks whose call failed: counted apart
    apcer: Rate
    bpcer: Rate
    apcer_as_judged: Rate
    bpcer_as_judged: Rate
    scored: int  # all scored checks (any label) in the period
    in_review_band: int  # ... with threshold - margin <= score < threshold + margin
    table: ScoreTable
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def review_rate(self) -> float | None:
        return self.in_review_band / self.scored if self.scored else None

    def curve(self) -> list[dict[str, float | None]]:
        points = []
        for threshold in self.table.labelled_thresholds():
            points.append(
                {
                    "threshold": _round(threshold),
                    "apcer": _round(self.table.apcer(threshold).value),
                    "bpcer": _round(self.table.bpcer(threshold).value),
                }
            )
        return points

    def histogram(self) -> dict[str, list[Any]]:
        live = [0] * HISTOGRAM_BINS
        spoof = [0] * HISTOGRAM_BINS
        for row in self.table.rows:
            index = min(int(row.score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)
            live[index] += row.live
            spoof[index] += row.spoof
        edges = [round(i / HISTOGRAM_BINS, 4) for i in range(HISTOGRAM_BINS + 1)]
        return {"edges": edges, "live": live, "spoof": spoof}

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "kind": self.kind,
            "threshold": self.threshold,
            "threshold_source": "current provider setting",
            "review_margin": self.review_margin,
            "checks": self.checks,
            "labels": {
                "human_live": self.table.live_total,
                "human_spoof": self.table.spoof_total,
                "human_decided_checks": self.labelled,
                "automatic_only_checks": self.automatic_only,
                "undecided_checks": self.undecided,
                "counted_apart": {
                    "findings": self.findings,
                    "unscored": self.unscored,
                    "provider_errors": self.errors,
                },
            },
            "apcer": self.apcer.as_dict(),
            "bpcer": self.bpcer.as_dict(),
            "as_judged": {"apcer": self.apcer_as_judged.as_dict(), "bpcer": self.bpcer_as_judged.as_dict()},
            "review": {"scored": self.scored, "in_band": self.in_review_band, "rate": _round(self.review_rate)},
            "curve": self.curve(),
            "histogram": self.histogram(),
            "suggestions": [s.as_dict() for s in self.suggestions],
        }


@dataclass(frozen=True)
class ProviderAgreement:
    provider: str
    checks: int  # its passing/failing checks in disagreement cases
    agreed: int  # ... where the operators' verdict matched (pass & live, or fail & spoof)

    @property
    def rate(self) -> float | None:
        return self.agreed / self.checks if self.checks else None


@dataclass(frozen=True)
class DisagreementCase:
    public_id: str
    kind: str
    human_verdict: str
    outcomes: dict[str, bool]  # provider -> passed at its stored threshold


@dataclass
class Disagreements:
    cases: int
    providers: list[ProviderAgreement]
    examples: list[DisagreementCase]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "providers": [
                {"provider": p.provider, "checks": p.checks, "operators_agreed": p.agreed, "rate": _round(p.rate)}
                for p in self.providers
            ],
            "examples": [
                {"case": e.public_id, "kind": e.kind, "human_verdict": e.human_verdict, "passed": e.outcomes}
                for e in self.examples
            ],
        }


@dataclass(frozen=True)
class Targets:
    bpcer: float | None = DEFAULT_TARGET_BPCER
    apcer: float | None = None


@dataclass
class AccuracyReport:
    start: date
    end: date
    provider: str
    kind: str
    targets: Targets
    human_cases: int
    automatic_only_cases: int
    undecided_cases: int
    rows: list[ProviderAccuracy]
    disagreements: Disagreements

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat(), "by": "case received"},
            "filters": {"provider": self.provider or None, "kind": self.kind or None},
            "ground_truth": "final verdict given by a person (operator decision or approved override)",
            "attack": "spoof",
            "bona_fide": "live",
            "accepted_when": "score >= threshold",
            "cases": {
                "human_decided": self.human_cases,
                "automatic_only": self.automatic_only_cases,
                "undecided": self.undecided_cases,
            },
            "targets": {"bpcer": self.targets.bpcer, "apcer": self.targets.apcer},
            "providers": [row.as_dict() for row in self.rows],
            "disagreements": self.disagreements.as_dict(),
        }


def current_settings(keys: Iterable[str]) -> dict[str, tuple[float, float]]:
    """(threshold, review margin) in force per provider, in one query; a provider never configured has
    its defaults (as ``provider_setting_get`` would create them)."""
    wanted = sorted(set(keys))
    found = {s.provider: (s.threshold, s.review_margin) for s in ProviderSetting.objects.filter(provider__in=wanted)}
    result: dict[str, tuple[float, float]] = {}
    for key in wanted:
        if key in found:
            result[key] = found[key]
            continue
        try:
            provider = get_provider(key)
        except UnknownProvider:
            continue  # a provider since removed: its checks cannot be judged against a current setting
        result[key] = (provider.default_threshold, provider.default_review_margin)
    return result


def _per_provider(values: dict[str, float]) -> When_Case:
    return When_Case(
        *(When(provider=key, then=Value(value)) for key, value in values.items()),
        default=Value(None),
        output_field=FloatField(),
    )


def period_checks(*, start: date, end: date, provider: str = "", kind: str = "") -> QuerySet[Check]:
    """Settled checks of each case's current round, for cases received in [start, end]."""
    since, until = _bounds(start, end)
    checks = Check.objects.filter(
        case__created_at__gte=since, case__created_at__lt=until, round=F("case__round"), status__in=_SETTLED
    )
    if provider:
        checks = checks.filter(provider=provider)
    if kind:
        checks = checks.filter(case__kind=kind)
    return checks


def accuracy_report(
    *, start: date, end: date, provider: str = "", kind: str = "", targets: Targets | None = None
) -> AccuracyReport:
    targets = targets or Targets()
    since, until = _bounds(start, end)
    checks = period_checks(start=start, end=end, provider=provider, kind=kind)
    settings_now = current_settings(p.key for p in all_providers())
    thresholds = {key: t for key, (t, _m) in settings_now.items()}
    band_low = {key: t - m for key, (t, m) in settings_now.items()}
    band_high = {key: t + m for key, (t, m) in settings_now.items()}
    current = _per_provider(thresholds)
    low, high = _per_provider(band_low), _per_provider(band_high)

    # 1. Every count per provider and kind, in one aggregate query.
    aggregates = (
        checks.values("provider", "case__kind")
        .annotate(
            checks=Count("pk"),
            labelled=Count("pk", filter=HUMAN),
            automatic_only=Count("pk", filter=AUTOMATIC_ONLY),
            findings=Count("pk", filter=HUMAN & Q(outcome=CheckOutcome.FINDING)),
            unscored=Count(
                "pk",
                filter=HUMAN & Q(status=CheckStatus.SUCCEEDED, score__isnull=True) & ~Q(outcome=CheckOutcome.FINDING),
            ),
            errors=Count("pk", filter=HUMAN & Q(status=CheckStatus.FAILED)),
            live=Count("pk", filter=HUMAN_LIVE & SCORED),
            spoof=Count("pk", filter=HUMAN_SPOOF & SCORED),
            live_refused=Count("pk", filter=HUMAN_LIVE & SCORED & Q(score__lt=current)),
            spoof_accepted=Count("pk", filter=HUMAN_SPOOF & SCORED & Q(score__gte=current)),
            live_judged=Count("pk", filter=HUMAN_LIVE & SCORED & Q(threshold__isnull=False)),
            spoof_judged=Count("pk", filter=HUMAN_SPOOF & SCORED & Q(threshold__isnull=False)),
            live_refused_judged=Count("pk", filter=HUMAN_LIVE & SCORED & Q(score__lt=F("threshold"))),
            spoof_accepted_judged=Count("pk", filter=HUMAN_SPOOF & SCORED & Q(score__gte=F("threshold"))),
            scored=Count("pk", filter=SCORED),
            in_band=Count("pk", filter=SCORED & Q(score__gte=low, score__lt=high)),
        )
        .order_by("provider", "case__kind")
    )
    # 2. The distinct scores with their label counts: curve, histograms and suggestions come from these.
    tables: dict[tuple[str, str], list[ScoreRow]] = {}
    for grouped in (
        checks.filter(SCORED)
        .values("provider", "case__kind", "score")
        .annotate(
            live=Count("pk", filter=HUMAN_LIVE),
            spoof=Count("pk", filter=HUMAN_SPOOF),
            other=Count("pk", filter=~HUMAN),
        )
        .order_by()
    ):
        tables.setdefault((grouped["provider"], grouped["case__kind"]), []).append(
            ScoreRow(float(grouped["score"] or 0.0), grouped["live"], grouped["spoof"], grouped["other"])
        )

    rows = []
    for agg in aggregates:
        key = agg["provider"]
        if key not in settings_now:
            continue
        threshold, margin = settings_now[key]
        table = ScoreTable(tables.get((key, agg["case__kind"]), []))
        row = ProviderAccuracy(
            provider=key,
            kind=agg["case__kind"],
            threshold=threshold,
            review_margin=margin,
            checks=agg["checks"],
            labelled=agg["labelled"],
            automatic_only=agg["automatic_only"],
            undecided=agg["checks"] - agg["labelled"] - agg["automatic_only"],
            findings=agg["findings"],
            unscored=agg["unscored"],
            errors=agg["errors"],
            apcer=Rate(agg["spoof_accepted"], agg["spoof"]),
            bpcer=Rate(agg["live_refused"], agg["live"]),
            apcer_as_judged=Rate(agg["spoof_accepted_judged"], agg["spoof_judged"]),
            bpcer_as_judged=Rate(agg["live_refused_judged"], agg["live_judged"]),
            scored=agg["scored"],
            in_review_band=agg["in_band"],
            table=table,
        )
        row.suggestions = suggestions(row, targets)
        rows.append(row)

    # 3. Cases by who decided them (kind filter applies; the provider filter does not: a case is a case).
    cases = Case.objects.filter(created_at__gte=since, created_at__lt=until)
    if kind:
        cases = cases.filter(kind=kind)
    counts = cases.aggregate(
        human=Count("pk", filter=Q(decided_by__isnull=False, final_verdict__in=_DECIDED)),
        automatic=Count("pk", filter=Q(decided_by__isnull=True, final_verdict__in=_DECIDED)),
        total=Count("pk"),
    )
    return AccuracyReport(
        start=start,
        end=end,
        provider=provider,
        kind=kind,
        targets=targets,
        human_cases=counts["human"],
        automatic_only_cases=counts["automatic"],
        undecided_cases=counts["total"] - counts["human"] - counts["automatic"],
        rows=rows,
        disagreements=disagreements(cases, provider=provider),
    )


def suggestions(row: ProviderAccuracy, targets: Targets) -> list[Suggestion]:
    found = []
    table = row.table
    if targets.bpcer is not None:
        threshold = pad_metrics.threshold_for_bpcer(table.live_scores(), targets.bpcer)
        found.append(_suggestion(row, "bpcer", targets.bpcer, threshold, "no live-labelled scores"))
    if targets.apcer is not None:
        threshold = threshold_for_apcer(table, targets.apcer)
        note = "no spoof-labelled scores" if not table.spoof_total else "no threshold up to 1 meets it"
        found.append(_suggestion(row, "apcer", targets.apcer, threshold, note))
    return found


def _suggestion(row: ProviderAccuracy, target: str, rate: float, threshold: float | None, note: str) -> Suggestion:
    if threshold is None:
        return Suggestion(target, rate, None, note=note)
    table = row.table
    low, high = sorted((row.threshold, threshold))
    band = table.in_band(threshold - row.review_margin, threshold + row.review_margin)
    return Suggestion(
        target=target,
        target_rate=rate,
        threshold=threshold,
        apcer=table.apcer(threshold),
        bpcer=table.bpcer(threshold),
        changed_labelled=table.labelled_in_band(low, high),
        changed_all=table.in_band(low, high),
        review_rate=band / table.all_total if table.all_total else None,
        note="equal to the current threshold" if threshold == row.threshold else "",
    )


def disagreements(cases: QuerySet[Case], *, provider: str = "") -> Disagreements:
    """Human-decided cases whose providers' checks (current round) split pass/fail at their stored
    thresholds, and how often the operators' verdict sided with each provider."""
    current_round = Q(checks__round=F("round"), checks__status=CheckStatus.SUCCEEDED)
    split = (
        cases.filter(decided_by__isnull=False, final_verdict__in=_DECIDED)
        .annotate(
            n_pass=Count("checks", filter=current_round & Q(checks__passed=True)),
            n_fail=Count("checks", filter=current_round & Q(checks__passed=False)),
        )
        .filter(n_pass__gt=0, n_fail__gt=0)
    )
    if provider:
        split = split.filter(pk__in=Check.objects.filter(provider=provider).values("case_id"))
    ids = split.values("pk")
    involved = Check.objects.filter(
        case__in=ids, round=F("case__round"), status=CheckStatus.SUCCEEDED, passed__isnull=False
    )
    per_provider = [
        ProviderAgreement(row["provider"], row["checks"], row["agreed"])
        for row in involved.values("provider")
        .annotate(
            checks=Count("pk"),
            agreed=Count(
                "pk",
                filter=Q(passed=True, case__final_verdict=Verdict.LIVE)
                | Q(passed=False, case__final_verdict=Verdict.SPOOF),
            ),
        )
        .order_by("provider")
    ]
    total = split.count()
    example_cases = list(
        split.order_by("-created_at", "-pk").values("pk", "public_id", "kind", "final_verdict")[:DISAGREEMENT_EXAMPLES]
    )
    outcomes: dict[int, dict[str, bool]] = {}
    for case_id, key, passed in involved.filter(case__in=[c["pk"] for c in example_cases]).values_list(
        "case_id", "provider", "passed"
    ):
        outcomes.setdefault(case_id, {})[key] = bool(passed)  # never None: filtered on passed__isnull=False
    examples = [
        DisagreementCase(str(c["public_id"]), c["kind"], c["final_verdict"], outcomes.get(c["pk"], {}))
        for c in example_cases
    ]
    return Disagreements(total, per_provider, examples)


CSV_COLUMNS = (
    "provider",
    "kind",
    "case",
    "score",
    "threshold",
    "human_verdict",
    "automatic_verdict",
    "decided_at",
    "outcome",
)


def case_rows(*, start: date, end: date, provider: str = "", kind: str = "") -> Iterator[list[Any]]:
    """The per-check table behind the figures, one query streamed with iterator(): memory stays flat.

    ``threshold`` is the one stored on the check (in force when it was judged); ``human_verdict`` is empty
    for cases no person decided; ``decided_at`` is the case's.
    """
    yield list(CSV_COLUMNS)
    rows = (
        period_checks(start=start, end=end, provider=provider, kind=kind)
        .order_by("provider", "case__kind", "case__created_at", "pk")
        .values_list(
            "provider",
            "case__kind",
            "case__public_id",
            "score",
            "threshold",
            "case__decided_by",
            "case__final_verdict",
            "case__auto_verdict",
            "case__decided_at",
            "outcome",
        )
    )
    for key, case_kind, public_id, score, threshold, decided_by, final, auto, decided_at, outcome in rows.iterator(
        chunk_size=2000
    ):
        human = final if decided_by is not None and final in _DECIDED else ""
        yield [
            key,
            case_kind,
            str(public_id)[:8],
            "" if score is None else f"{score:.4f}",
            "" if threshold is None else f"{threshold:.4f}",
            human,
            auto,
            _iso(decided_at),
            outcome,
        ]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


KIND_CHOICES = CaseKind.choices
