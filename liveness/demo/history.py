"""A demo history for a fresh install: a few hundred past selfie cases over 30 days, so the dashboard and
the accuracy page have something to show.

What is measured and what is made up, plainly:

- **Measured**: each case draws its "image" from ``engine_scores.json``, the local engine's selfie scores
  of the labelled photos in ``shared/testdata`` (regenerate with ``manage.py measure_demo_scores``). The
  local engine's check gets exactly that score; a label's unscored share becomes "not assessed" checks.
- **Made up (demo only)**: the vendors' scores are the same measured score plus Gaussian noise per vendor
  (``VENDOR_NOISE``) — the simulators are not real vendors and this is no measurement of them; the share
  of attacks, which cases operators reviewed, and the operators' mistakes (``MISTAKE_RATE`` of human
  verdicts are the wrong label, so the error rates are not trivially zero).

Automatic verdicts come from the real policy (``policy.assess`` and ``policy.decide``) at the providers'
current settings. Cases the policy sent to review are decided by the demo operator; a sample of the
automatic ones is reviewed too (an audit sample), and an override of an automatic spoof to live carries
the demo supervisor's approval, as four-eyes wants. History cases have no images: their evidence would
have been purged after the retention period anyway.

Deterministic (fixed seed) and idempotent: nothing is created when the history's cases exist.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .. import policy
from ..models import (
    ApprovalStatus,
    Case,
    CaseKind,
    CaseStatus,
    Check,
    CheckOutcome,
    CheckStatus,
    Decision,
    Partner,
    Verdict,
)
from ..services.audit import audit_record
from ..services.decisions import needs_four_eyes
from ..services.providers import provider_config

SCORE_TABLE = Path(__file__).with_name("engine_scores.json")
REF_PREFIX = "demo-history-"
SEED = 13
CASES = 360
DAYS = 30
PROVIDERS = ("local", "accura_face", "kairos")
#: Standard deviation of the noise added to the measured score, per provider (demo fabrication).
VENDOR_NOISE = {"local": 0.0, "accura_face": 0.08, "kairos": 0.12}
ATTACK_SHARE = 0.2
#: Share of the automatically decided cases an operator reviews anyway (an audit sample), per automatic
#: verdict: refusals get a second look more often than acceptances (customers complain about those).
AUDIT_SAMPLE: dict[str, float] = {Verdict.LIVE: 0.1, Verdict.SPOOF: 0.5}
#: Share of human verdicts that are the wrong label (demo operators make mistakes too).
MISTAKE_RATE = 0.05
ERROR_RATE = 0.01


@dataclass(frozen=True)
class LabelScores:
    scores: list[float]
    unscored: int

    def draw(self, rng: random.Random) -> float | None:
        pick = rng.randrange(len(self.scores) + self.unscored)
        return self.scores[pick] if pick < len(self.scores) else None


def load_table(path: Path = SCORE_TABLE) -> dict[str, LabelScores]:
    data = json.loads(path.read_text())
    return {
        label: LabelScores([float(s) for s in entry["scores"]], int(entry.get("unscored", 0)))
        for label, entry in data["labels"].items()
        if entry["scores"]
    }


def _bulk_create_backdated(model: Any, rows: list[Any], *, batch_size: int) -> None:
    """bulk_create keeping the past ``created_at`` of each row, which auto_now_add would overwrite with now.

    The field's flag is lifted for the duration of the insert only (a management command, one thread).
    """
    created_at = model._meta.get_field("created_at")
    created_at.auto_now_add = False
    try:
        model.objects.bulk_create(rows, batch_size=batch_size)
    finally:
        created_at.auto_now_add = True


def history_exists(partner: Partner) -> bool:
    return Case.objects.filter(partner=partner, external_ref__startswith=REF_PREFIX).exists()


def seed_history(
    *,
    partner: Partner,
    operator: User,
    supervisor: User,
    cases: int = CASES,
    table: dict[str, LabelScores] | None = None,
) -> int:
    """Create the history (bulk inserts, one transaction). Returns the number of cases created (0 if present)."""
    table = table if table is not None else load_table()
    bona_fide = table["genuine"]
    attacks = [scores for label, scores in sorted(table.items()) if label.startswith("spoof")]
    configs = {key: provider_config(key) for key in PROVIDERS}
    rng = random.Random(SEED)
    now = timezone.now()
    with transaction.atomic():
        if history_exists(partner):
            return 0
        case_rows: list[Case] = []
        check_rows: list[list[Check]] = []
        decisions: list[Decision | None] = []
        for index in range(cases):
            # Within the accuracy page's default window (today and the 29 days before it).
            received = now - timedelta(days=rng.uniform(0.2, DAYS - 1.1))
            attack = rng.random() < ATTACK_SHARE
            source = rng.choice(attacks) if attack and attacks else bona_fide
            base = source.draw(rng)
            checks = []
            views = []
            for key in PROVIDERS:
                config = configs[key]
                latency = int(rng.uniform(40, 200) if key == "local" else rng.uniform(300, 1800))
                finished = received + timedelta(milliseconds=latency + rng.uniform(100, 2000))
                common: dict[str, Any] = {
                    "round": 1,
                    "provider": key,
                    "attempts": 1,
                    "max_attempts": config.max_attempts,
                    "threshold": config.threshold,
                    "review_margin": config.review_margin,
                    "latency_ms": latency,
                    "started_at": received,
                    "finished_at": finished,
                    "created_at": received,
                    "details": {"demo": True},
                }
                if key != "local" and rng.random() < ERROR_RATE:
                    check = Check(
                        **common,
                        status=CheckStatus.FAILED,
                        outcome=CheckOutcome.ERROR,
                        error_code="timeout",
                        error_message="demo: the vendor did not answer in time",
                    )
                    views.append(policy.CheckView(key, CheckOutcome.ERROR, "timeout"))
                else:
                    score = None
                    if base is not None:
                        score = round(min(1.0, max(0.0, base + rng.gauss(0.0, VENDOR_NOISE[key]))), 3)
                    assessed = policy.assess(score=score, threshold=config.threshold, margin=config.review_margin)
                    reason = "" if score is not None else "poor_quality"
                    check = Check(
                        **common,
                        status=CheckStatus.SUCCEEDED,
                        score=score,
                        passed=assessed.passed,
                        outcome=assessed.outcome,
                        reason=reason,
                    )
                    views.append(policy.CheckView(key, assessed.outcome, reason))
                checks.append(check)
            auto = policy.decide(views)
            truth = Verdict.SPOOF if attack else Verdict.LIVE
            reviewed = auto.verdict == Verdict.NEEDS_REVIEW or rng.random() < AUDIT_SAMPLE.get(auto.verdict, 0.0)
            case = Case(
                partner=partner,
                external_ref=f"{REF_PREFIX}{index + 1:04d}",
                kind=CaseKind.SELFIE,
                providers=list(PROVIDERS),
                status=CaseStatus.DECIDED,
                auto_verdict=auto.verdict,
                auto_reasons=list(auto.reasons),
                reason_codes=list(auto.codes),
                created_at=received,
            )
            decision = None
            if reviewed:
                verdict = truth
                if rng.random() < MISTAKE_RATE:
                    verdict = Verdict.LIVE if truth == Verdict.SPOOF else Verdict.SPOOF
                decided_at = received + timedelta(minutes=rng.uniform(3, 240))
                is_override = auto.verdict in (Verdict.LIVE, Verdict.SPOOF) and verdict != auto.verdict
                four_eyes = is_override and needs_four_eyes(current_verdict=auto.verdict, verdict=verdict)
                decision = Decision(
                    actor=operator,
                    verdict=verdict,
                    previous_verdict=auto.verdict,
                    reason="demo: looked at the images" if is_override else "",
                    is_override=is_override,
                    approval_status=ApprovalStatus.APPROVED if four_eyes else ApprovalStatus.NOT_REQUIRED,
                    approver=supervisor if four_eyes else None,
                    approval_note="demo: agreed" if four_eyes else "",
                    decided_at=decided_at,
                    created_at=decided_at,
                )
                case.final_verdict = verdict
                case.decided_by = operator  # as _apply_decision does: the one who asked, also under four-eyes
                case.decided_at = decided_at
            else:
                case.final_verdict = auto.verdict
                case.decided_at = max(c.finished_at for c in checks if c.finished_at)
            case_rows.append(case)
            check_rows.append(checks)
            decisions.append(decision)
        _bulk_create_backdated(Case, case_rows, batch_size=500)
        all_checks = []
        for case, checks in zip(case_rows, check_rows, strict=True):
            for check in checks:
                check.case = case
                all_checks.append(check)
        _bulk_create_backdated(Check, all_checks, batch_size=1000)
        made = []
        for case, maybe in zip(case_rows, decisions, strict=True):
            if maybe is not None:
                maybe.case = case
                made.append(maybe)
        _bulk_create_backdated(Decision, made, batch_size=500)
        audit_record(
            action="demo.history_seeded",
            actor_label="seed_demo",
            data={"cases": len(case_rows), "decisions": len(made), "providers": list(PROVIDERS)},
        )
    return len(case_rows)
