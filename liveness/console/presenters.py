"""Turning stored checks into what the case page draws: score bars, face boxes, per-image observations,
findings.

Pure functions over model instances already loaded (no queries). What a provider stored in ``Check.details``
is read through the details contract (:mod:`liveness.providers.details`): one typed shape for the local
engine and every vendor, rows stored before the contract included, so nothing here knows a vendor's own
keys. It shows what is present and skips what is not; it never invents a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..engine.match import DECISION_DISTANCE, similarity_from_distance
from ..models import (
    AuditEvent,
    Case,
    CaseKind,
    CaseStatus,
    Check,
    CheckOutcome,
    CheckStatus,
    Decision,
    Evidence,
    ProviderSetting,
    Verdict,
)
from ..providers import UnknownProvider, get_provider
from ..providers.details import Box, CheckDetail, Finding, ImageDetail, Openness, Passive, Pose, Quality, Size
from ..providers.details import load as load_details
from ..services.providers import ProviderConfig
from ..vocabulary import FINDINGS

PROVIDER_COLOURS = 6  # distinct box colours in the stylesheet (.prov-0 … .prov-5)


@dataclass(frozen=True)
class ScoreBar:
    """Percent positions on a 0..1 bar. The band is [threshold - margin, threshold + margin)."""

    score_pct: float | None
    threshold_pct: float | None
    band_left_pct: float
    band_width_pct: float


def _pct(value: float) -> float:
    return round(max(0.0, min(1.0, value)) * 100, 2)


def score_bar(*, score: float | None, threshold: float | None, margin: float | None) -> ScoreBar:
    if threshold is None:
        return ScoreBar(_pct(score) if score is not None else None, None, 0.0, 0.0)
    margin = margin or 0.0
    low, high = _pct(threshold - margin), _pct(threshold + margin)
    return ScoreBar(
        score_pct=_pct(score) if score is not None else None,
        threshold_pct=_pct(threshold),
        band_left_pct=low,
        band_width_pct=round(high - low, 2),
    )


def is_heuristic(check: Check, detail: CheckDetail | None = None) -> bool:
    """A score from a heuristic (not a trained detector) must say so wherever it is shown."""
    if (detail or load_details(check.details)).heuristic:
        return True
    try:
        return bool(get_provider(check.provider).is_heuristic)
    except UnknownProvider:
        return False


def provider_label(key: str) -> str:
    try:
        return get_provider(key).label
    except UnknownProvider:
        return key


@dataclass(frozen=True)
class FaceBox:
    provider: str
    left: float  # percent of the image width
    top: float
    width: float
    height: float
    colour: int
    label: str
    is_main: bool = False
    #: Row of the label inside the box (0 at its top edge): labels of boxes that start close together are
    #: stacked so no label hides another.
    label_row: int = 0


#: Two labels clash when their boxes start closer than this (percent of the image) in both directions.
LABEL_CLASH_TOP_PCT = 8.0
LABEL_CLASH_LEFT_PCT = 30.0
LABEL_ROWS = 6  # rows the stylesheet places (.lr-0 … .lr-5)


def stack_labels(boxes: Sequence[FaceBox]) -> list[FaceBox]:
    """The boxes with a label row each, so that labels of boxes starting near one another never overlap."""
    placed: list[FaceBox] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        taken = {
            other.label_row
            for other in placed
            if abs(other.top - box.top) < LABEL_CLASH_TOP_PCT and abs(other.left - box.left) < LABEL_CLASH_LEFT_PCT
        }
        row = next(r for r in range(len(placed) + 1) if r not in taken)
        placed.append(replace(box, label_row=min(row, LABEL_ROWS - 1)))
    return placed


@dataclass
class Observation:
    """What one provider reported about one image."""

    provider: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    matched: bool | None = None  # active frames: did the frame answer its parameter?


@dataclass
class EvidenceView:
    evidence: Evidence
    boxes: list[FaceBox] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)

    @property
    def parameter(self) -> str:
        return self.evidence.face_parameter


def face_box(
    box: Box, *, image_width: float, image_height: float, provider: str, colour: int, label: str, is_main: bool
) -> FaceBox | None:
    """A box (pixels of an image of the given size) in percent of the image; None when it lies outside."""
    if image_width <= 0 or image_height <= 0:
        return None
    left, right = max(0.0, box.left / image_width), min(1.0, box.right / image_width)
    top, bottom = max(0.0, box.top / image_height), min(1.0, box.bottom / image_height)
    if right <= left or bottom <= top:
        return None
    return FaceBox(
        provider=provider,
        left=round(left * 100, 2),
        top=round(top * 100, 2),
        width=round((right - left) * 100, 2),
        height=round((bottom - top) * 100, 2),
        colour=colour,
        label=label,
        is_main=is_main,
    )


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items() if not isinstance(v, Mapping | list))
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value if not isinstance(v, Mapping | list))
    return str(value)


def _pose(pose: Pose) -> str:
    # Angles the provider left empty (Riset's nulls) are not a pose worth a line.
    angles = [(axis, getattr(pose, axis)) for axis in ("yaw", "pitch", "roll")]
    return ", ".join(f"{axis} {value:+.1f}°" for axis, value in angles if value is not None)


def _numbers(reading: Openness, measure: str) -> str:
    # A short name of the measure ("EAR", "MAR") labels the number; a longer description does not fit there.
    label = measure if measure and len(measure) <= 8 else "ratio"
    pairs = ((label, reading.ratio), ("score", reading.score))
    return ", ".join(f"{name} {_fmt(value)}" for name, value in pairs if value is not None)


def _openness(reading: Openness) -> str:
    """Eyes or mouth, whichever shape the provider measured: "open (image left open EAR 0.254, image right
    open EAR 0.176)" or "open (MAR 0.52)" from the engine, "left open (score 0.98), right open (score 1.0)"
    from a vendor's per-eye states."""
    inner = bool(reading.state)  # within the overall state's brackets: no brackets of their own
    parts = [own] if (own := _numbers(reading, reading.measure)) else []
    for side, value in reading.sides.items():
        numbers = _numbers(value, reading.measure)
        words = [side.replace("_", " "), value.state or "", numbers if inner or not numbers else f"({numbers})"]
        parts.append(" ".join(word for word in words if word))
    detail = ", ".join(parts)
    if not reading.state:
        return detail
    return f"{reading.state} ({detail})" if detail else reading.state


def _quality(quality: Quality) -> str:
    if quality.usable is None:
        return quality.label  # the vendor's own word (Accura: "good", "poor")
    text = "usable" if quality.usable else "not usable"
    if quality.reasons:
        text += ": " + ", ".join(r.replace("_", " ") for r in quality.reasons)
    return text


def _passive(passive: Passive) -> str:
    if passive.available is False:
        return "unavailable"
    if passive.real_probability is None:
        return ""
    text = f"real p={passive.real_probability:.3f}"
    # Per model: a probability, or an entry holding one (the engine may store more about each model).
    each_model = {
        name: p.get("real_probability") if isinstance(p, Mapping) else p for name, p in passive.models.items()
    }
    models = {name: p for name, p in each_model.items() if isinstance(p, int | float) and not isinstance(p, bool)}
    if len(models) > 1:
        each = ", ".join(f"{name} {p:.3f}" for name, p in models.items())
        text += f" ({passive.fusion or 'fused'}: {each})"
    elif passive.fusion:
        text += f" ({passive.fusion})"
    return text


def observation(provider: str, image: ImageDetail) -> Observation:
    """The facts worth showing an operator from one image's detail, labelled, in a stable order."""
    obs = Observation(provider=provider)
    if image.face_outcome:
        count = image.face_count if image.face_count is not None else "?"
        obs.facts.append(("faces", f"{image.face_outcome.replace('_', ' ')} ({count})"))
    elif image.faces is not None:
        obs.facts.append(("faces", str(len(image.faces))))
    elif image.face_found is not None:
        obs.facts.append(("faces", "found" if image.face_found else "none found"))
    if image.pose is not None and (text := _pose(image.pose)):
        obs.facts.append(("pose", text))
    for name, reading in (("eyes", image.eyes), ("mouth", image.mouth)):
        if reading is not None and (text := _openness(reading)):
            obs.facts.append((name, text))
    if image.quality is not None and (text := _quality(image.quality)):
        obs.facts.append(("quality", text))
    if image.label:
        # The vendor's own word for the image and its confidence in that word (Riset's spoof / spoof_score).
        confidence = image.label_confidence
        obs.facts.append(("label", image.label + (f" ({confidence:.3f})" if confidence is not None else "")))
    if image.passive is not None and (text := _passive(image.passive)):
        obs.facts.append(("passive", text))
    if (answer := image.parameter_check) is not None:
        obs.matched = answer.matched
        measured = _fmt(answer.value) if answer.value is not None else ""
        if why := ", ".join(part for part in (measured, answer.bound) if part):
            obs.facts.append(("parameter", why))
    return obs


def evidence_views(*, evidence: Sequence[Evidence], checks: Sequence[Check], kind: str) -> list[EvidenceView]:
    """Each image of the case with every provider's face boxes and observations attached. Every image of a
    detail names its evidence by role and index (the contract fills them in for rows stored before it)."""
    views = {e.pk: EvidenceView(evidence=e) for e in evidence}
    providers = list(dict.fromkeys(c.provider for c in checks))
    for check in checks:
        if check.status != CheckStatus.SUCCEEDED:
            continue
        by_slot = {(e.role, e.index): e for e in evidence if e.round == check.round}
        colour = providers.index(check.provider) % PROVIDER_COLOURS
        for image in load_details(check.details, kind=kind).images:
            target = by_slot.get((image.role, image.index or 0))
            if target is None:
                continue
            view = views[target.pk]
            # The size the provider measured its boxes in (it may have got a resized copy).
            size = image.image or Size()
            width, height = size.width or float(target.width), size.height or float(target.height)
            boxed = [(face, face.box) for face in image.faces or [] if face.box is not None]
            main_box = image.main_face.box if image.main_face is not None else None
            for face, edges in boxed:
                score = face.detection_score
                box = face_box(
                    edges,
                    image_width=width,
                    image_height=height,
                    provider=check.provider,
                    colour=colour,
                    label=check.provider + (f" {score:.2f}" if score is not None else ""),
                    is_main=main_box == edges and len(boxed) > 1,
                )
                if box is not None:
                    view.boxes.append(box)
            view.observations.append(observation(check.provider, image))
    for view in views.values():
        view.boxes = stack_labels(view.boxes)
    return [views[e.pk] for e in evidence]


def raw_json(value: Any) -> str:
    """The stored raw response, pretty-printed (it was redacted of secrets before it was stored)."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def event_summary(data: Any, *, limit: int = 6) -> list[tuple[str, str]]:
    """A few readable key/value pairs of an audit event's data for the timeline."""
    if not isinstance(data, Mapping):
        return []
    pairs = []
    for key, value in data.items():
        if key in ("evidence", "sha256"):  # hashes tell an operator nothing at a glance
            continue
        text = _fmt(value)
        if isinstance(value, Mapping) and key in ("before", "after"):
            text = ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
        if text:
            pairs.append((str(key).replace("_", " "), text[:200]))
        if len(pairs) >= limit:
            break
    return pairs


def format_age(delta: timedelta) -> str:
    """Compact age for the queue: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


#: Share of the SLA after which a waiting case turns amber.
SLA_WARN_FRACTION = 0.75


def sla_state(*, status: str, age: timedelta, sla_minutes: int) -> str:
    """ "ok" / "warn" / "over" for cases waiting on a person; "" for the rest (no SLA runs on them)."""
    if status not in (CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL):
        return ""
    limit = timedelta(minutes=sla_minutes)
    if age >= limit:
        return "over"
    if age >= limit * SLA_WARN_FRACTION:
        return "warn"
    return "ok"


@dataclass
class QueueRow:
    case: Case
    age: str
    sla: str
    claimed_by: User | None
    claim_expires_at: datetime | None
    checks: list[Check]
    #: The finding shown beside the verdict ("face mismatch": a mismatch is not a spoof), if any.
    headline: ReasonBadge | None = None
    #: The row's ``<tr>`` as drawn (:func:`queue_row_html`), set by :func:`queue_rows_html`.
    html: SafeString = field(default_factory=lambda: SafeString(""))


def queue_rows(cases: Sequence[Case], *, now: datetime, sla_minutes: int) -> list[QueueRow]:
    rows = []
    for case in cases:
        age = now - case.created_at
        expires = case.claim_expires_at
        active_claim = case.claimed_by_id is not None and expires is not None and expires > now
        rows.append(
            QueueRow(
                case=case,
                age=format_age(age),
                sla=sla_state(status=case.status, age=age, sla_minutes=sla_minutes),
                claimed_by=case.claimed_by if active_claim else None,
                claim_expires_at=case.claim_expires_at if active_claim else None,
                checks=[c for c in case.checks.all() if c.round == case.round],
                headline=headline(case),
            )
        )
    return rows


# The queue's rows are drawn here rather than in the template: 50 rows of ~40 template variables each
# (lookups, filters, get_FOO_display, {% url %}) cost the page more than its SQL did (bench.console_scale,
# issue 15). Same markup as the template drew; tests/test_console_queue_rows.py renders the template
# version of a row beside this one and compares them.


_DASH = "\u2013"  # the en dash an empty cell shows
_EMPTY_CELL = format_html('<span class="muted">{}</span>', _DASH)


def _label(choices: type[CaseKind | CaseStatus | Verdict | CheckStatus | CheckOutcome], value: str) -> str:
    """What ``get_FOO_display`` shows: the choice's label, or the stored value when it is not a choice."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _local(value: datetime, fmt: str) -> str:
    return timezone.localtime(value).strftime(fmt) if timezone.is_aware(value) else value.strftime(fmt)


def _check_badge(check: Check) -> SafeString:
    outcome = _label(CheckOutcome, check.outcome) if check.outcome else ""
    score = f" {floatformat(check.score, 2)}" if check.score is not None else ""
    return format_html(
        '<span class="badge oc-{}" title="{}: {}">{}{}</span>',
        check.outcome or check.status,
        check.provider,
        outcome or _label(CheckStatus, check.status),
        check.provider,
        score,
    )


def queue_row_html(row: QueueRow, *, can_bulk: bool) -> SafeString:
    """One ``<tr>`` of the review queue (the markup templates/console/case_list.html drew per row)."""
    case = row.case
    short = str(case.public_id)[:8]
    tick = (
        format_html(
            '<td class="tick"><input type="checkbox" name="cases" value="{}" aria-label="Select case {}" '
            "data-bulk-item></td>",
            case.public_id,
            short,
        )
        if can_bulk
        else ""
    )
    ref = format_html('<div class="muted small">{}</div>', case.external_ref) if case.external_ref else ""
    partner = case.partner.name if case.partner is not None else ""
    checks = format_html_join("", "{}", ((_check_badge(c),) for c in row.checks)) if row.checks else _EMPTY_CELL
    automatic = (
        format_html('<span class="verdict v-{}">{}</span>', case.auto_verdict, _label(Verdict, case.auto_verdict))
        if case.auto_verdict
        else _DASH
    )
    badge = row.headline
    reason = (
        format_html(
            ' <span class="badge reasoncode{}" data-code="{}" title="{}">{}</span>',
            " mismatch" if badge.is_mismatch else "",
            badge.code,
            badge.meaning,
            badge.label,
        )
        if badge
        else ""
    )
    final = (
        format_html('<span class="verdict v-{}">{}</span>', case.final_verdict, _label(Verdict, case.final_verdict))
        if case.final_verdict
        else _DASH
    )
    claimed = (
        format_html(
            '{}<div class="muted small">until {}</div>',
            row.claimed_by.get_username(),
            _local(row.claim_expires_at, "%H:%M") if row.claim_expires_at else "",
        )
        if row.claimed_by
        else _EMPTY_CELL
    )
    return format_html(
        '<tr class="status-{status}" data-case="{public_id}">{tick}'
        '<td class="cell-case"><a href="{url}" class="caseid">{short}</a>{ref}</td>'
        '<td data-label="Partner">{partner}</td>'
        '<td data-label="Kind">{kind}</td>'
        '<td data-label="Status"><span class="badge st-{status}">{status_label}</span></td>'
        '<td class="checkbadges" data-label="Checks">{checks}</td>'
        '<td data-label="Automatic">{automatic}{reason}</td>'
        '<td data-label="Final">{final}</td>'
        '<td data-label="Age"><span class="age sla-{sla}" title="created {created}">{age}</span></td>'
        '<td data-label="Claimed by">{claimed}</td></tr>',
        status=case.status,
        public_id=case.public_id,
        tick=tick,
        url=reverse("case_detail", args=[case.public_id]),
        short=short,
        ref=ref,
        partner=partner or "console",
        kind=_label(CaseKind, case.kind),
        status_label=_label(CaseStatus, case.status),
        checks=checks,
        automatic=automatic,
        reason=reason,
        final=final,
        sla=row.sla or "none",
        created=_local(case.created_at, "%Y-%m-%d %H:%M:%S"),
        age=row.age,
        claimed=claimed,
    )


def queue_rows_html(rows: list[QueueRow], *, can_bulk: bool) -> list[QueueRow]:
    for row in rows:
        row.html = queue_row_html(row, can_bulk=can_bulk)
    return rows


@dataclass
class CheckRow:
    check: Check
    label: str
    bar: ScoreBar
    heuristic: bool
    threshold: float | None
    margin: float | None
    threshold_is_current: bool  # not settled yet: the provider's current setting is shown instead
    raw: str
    #: Reasons the check found (challenge failed, mismatches …), each with its code in plain words.
    findings: list[Finding] = field(default_factory=list)
    #: Where the stored detail did not fit the contract when the check settled (an adapter bug).
    detail_problems: list[str] = field(default_factory=list)


def check_rows(checks: Sequence[Check], *, current: Mapping[str, ProviderConfig | ProviderSetting]) -> list[CheckRow]:
    rows = []
    for check in checks:
        detail = load_details(check.details)
        threshold, margin, is_current = check.threshold, check.review_margin, False
        if threshold is None and check.provider in current:
            setting = current[check.provider]
            threshold, margin, is_current = setting.threshold, setting.review_margin, True
        rows.append(
            CheckRow(
                check=check,
                label=provider_label(check.provider),
                bar=score_bar(score=check.score, threshold=threshold, margin=margin),
                heuristic=is_heuristic(check, detail),
                threshold=threshold,
                margin=margin,
                threshold_is_current=is_current,
                raw=raw_json(check.raw_response),
                findings=detail.findings,
                detail_problems=detail.contract_problems,
            )
        )
    return rows


# --- faces side by side ---------------------------------------------------------------------------------


def face_pixel_box(evidence: Evidence, checks: Sequence[Check], *, kind: str) -> list[int]:
    """The main face of ``evidence`` as [left, top, right, bottom] in the stored image's pixels, from the
    first settled check of its round that placed one; [] when none did (the crop is then the whole image)."""
    for check in checks:
        if check.status != CheckStatus.SUCCEEDED or check.round != evidence.round:
            continue
        for image in load_details(check.details, kind=kind).images:
            if (image.role, image.index or 0) != (evidence.role, evidence.index):
                continue
            boxed = [face.box for face in image.faces or [] if face.box is not None]
            box = image.main_face.box if image.main_face is not None and image.main_face.box else None
            box = box or (boxed[0] if len(boxed) == 1 else None)
            if box is None:
                continue
            size = image.image or Size()
            sx = evidence.width / size.width if size.width else 1.0
            sy = evidence.height / size.height if size.height else 1.0
            return [round(box.left * sx), round(box.top * sy), round(box.right * sx), round(box.bottom * sy)]
    return []


@dataclass(frozen=True)
class FacePair:
    """Two faces shown side by side with the provider's match between them, in words."""

    provider: str
    left: Evidence
    left_label: str
    right: Evidence
    right_label: str
    similarity: float | None
    same_person: bool | None
    #: The similarity at the same-person distance (0.50 by construction, engine/match.py).
    threshold: float

    @property
    def words(self) -> str:
        if self.similarity is None:
            return "no match score"
        verdict = "same person" if self.same_person else "different people"
        return f"{verdict}: {self.similarity:.2f}, threshold {self.threshold:.2f}"


def _evidence_label(evidence: Evidence) -> str:
    if evidence.role == "frame":
        return f"frame {evidence.index + 1}" + (f" ({evidence.face_parameter})" if evidence.face_parameter else "")
    return "document portrait" if evidence.role == "id_front" else evidence.get_role_display().lower()


def face_pairs(*, evidence: Sequence[Evidence], checks: Sequence[Check], kind: str) -> list[FacePair]:
    """The selfie beside the document portrait (ID cases), the first frame beside each other frame (active
    cases), with every provider's match that compared them. Only the current round's images and checks."""
    threshold = similarity_from_distance(DECISION_DISTANCE)
    by_slot = {(e.role, e.index): e for e in evidence if not e.is_purged}
    settled = [c for c in checks if c.status == CheckStatus.SUCCEEDED]
    pairs: list[FacePair] = []
    if kind == "id_document":
        selfie, portrait = by_slot.get(("selfie", 0)), by_slot.get(("id_front", 0))
        if selfie is None or portrait is None:
            return []
        for check in settled:
            match = load_details(check.details, kind=kind).components.get("face_match")
            if not isinstance(match, Mapping) or not isinstance(match.get("similarity"), int | float):
                continue
            same = match.get("same_person")
            pairs.append(
                FacePair(
                    provider=check.provider,
                    left=selfie,
                    left_label="selfie",
                    right=portrait,
                    right_label="document portrait",
                    similarity=float(match["similarity"]),
                    same_person=same if isinstance(same, bool) else float(match["similarity"]) >= threshold,
                    threshold=threshold,
                )
            )
        if not pairs:
            pairs.append(FacePair("", selfie, "selfie", portrait, "document portrait", None, None, threshold))
        return pairs
    if kind == "active":
        frames = sorted((e for e in by_slot.values() if e.role == "frame"), key=lambda e: e.index)
        if len(frames) < 2:
            return []
        first = frames[0]
        distances: dict[int, tuple[str, float | None]] = {}
        for check in settled:
            identity = load_details(check.details, kind=kind).identity
            if identity is None:
                continue
            for pair in identity.extra.get("pairs") or []:
                names = pair.get("frames") if isinstance(pair, Mapping) else None
                distance = pair.get("distance") if isinstance(pair, Mapping) else None
                if not isinstance(names, list) or not isinstance(distance, int | float) or len(names) != 2:
                    continue
                if f"frame {first.index}" in names:
                    other = next(n for n in names if n != f"frame {first.index}") if names[0] != names[1] else ""
                    index = other.removeprefix("frame ")
                    if index.isdigit():
                        distances.setdefault(int(index), (check.provider, float(distance)))
        for frame in frames[1:]:
            provider, distance = distances.get(frame.index, ("", None))
            similarity = similarity_from_distance(distance) if distance is not None else None
            pairs.append(
                FacePair(
                    provider=provider,
                    left=first,
                    left_label=_evidence_label(first),
                    right=frame,
                    right_label=_evidence_label(frame),
                    similarity=similarity,
                    same_person=distance <= DECISION_DISTANCE if distance is not None else None,
                    threshold=threshold,
                )
            )
    return pairs


# --- reasons and the headline ---------------------------------------------------------------------------

#: Reason codes that are not findings (liveness/policy.py), in plain words.
_OTHER_REASONS = {
    "below_threshold": "a score is below its provider's threshold",
    "borderline": "a score is within its provider's review margin",
    "not_assessed": "a provider could not assess the images",
    "provider_error": "a provider failed",
    "providers_disagree": "the providers disagree",
}
#: Findings that name what is wrong better than the verdict: shown in its place (a mismatch is not a spoof).
HEADLINE_FINDINGS = ("face_mismatch", "identity_mismatch", "blocklisted_face", "repeat_face")


@dataclass(frozen=True)
class ReasonBadge:
    code: str
    label: str  # "face mismatch"
    meaning: str

    @property
    def is_mismatch(self) -> bool:
        return self.code in ("face_mismatch", "identity_mismatch")


def reason_badges(codes: Sequence[str] | None) -> list[ReasonBadge]:
    return [
        ReasonBadge(code, code.replace("_", " "), FINDINGS.get(code) or _OTHER_REASONS.get(code, ""))
        for code in dict.fromkeys(c for c in codes or [] if isinstance(c, str))
    ]


def headline(case: Case) -> ReasonBadge | None:
    """The finding to show in the verdict's place ("face mismatch", not "spoof"), or None."""
    badges = {b.code: b for b in reason_badges(case.reason_codes)}
    return next((badges[code] for code in HEADLINE_FINDINGS if code in badges), None)


# --- the timeline ---------------------------------------------------------------------------------------

#: Looks at images by one person with less than this between them are one visit: one line in the timeline.
VIEW_VISIT_GAP = timedelta(minutes=10)


@dataclass
class TimelineEntry:
    event: AuditEvent
    summary: list[tuple[str, str]] = field(default_factory=list)
    #: For a visit: every ``evidence.viewed`` event of it, the first one being ``event``.
    views: list[AuditEvent] = field(default_factory=list)
    reasons: list[ReasonBadge] = field(default_factory=list)

    @property
    def last_at(self) -> datetime:
        return self.views[-1].created_at if self.views else self.event.created_at

    @property
    def images(self) -> str:
        """ "selfie (2), id_front, selfie face (3)" for a visit."""
        counts: dict[str, int] = {}
        for view in self.views:
            data = view.data if isinstance(view.data, Mapping) else {}
            name = str(data.get("role", "image")) + (" face" if data.get("crop") else "")
            counts[name] = counts.get(name, 0) + 1
        return ", ".join(f"{name} ({n})" if n > 1 else name for name, n in counts.items())


def timeline(events: Sequence[AuditEvent], *, gap: timedelta = VIEW_VISIT_GAP) -> list[TimelineEntry]:
    """The case's audit trail for the page: each person's looks at images grouped into visits (one line,
    placed at the visit's first look, expandable), every other event on its own line."""
    entries: list[TimelineEntry] = []
    visits: dict[object, TimelineEntry] = {}
    for event in events:
        if event.action == "evidence.viewed":
            who = event.actor_id or event.actor_label
            visit = visits.get(who)
            if visit is not None and event.created_at - visit.last_at <= gap:
                visit.views.append(event)
                continue
            visits[who] = TimelineEntry(event=event, views=[event])
            entries.append(visits[who])
            continue
        codes = event.data.get("codes") if isinstance(event.data, Mapping) else None
        entries.append(
            TimelineEntry(
                event=event,
                summary=event_summary(event.data),
                reasons=[b for b in reason_badges(codes) if b.code in HEADLINE_FINDINGS] if codes else [],
            )
        )
    return entries


# --- four-eyes approvals --------------------------------------------------------------------------------


@dataclass
class ApprovalRow:
    """A pending override with what the second supervisor needs beside approve/refuse: the case's current
    images, its checks' scores against their thresholds, and the finding behind the verdict overridden."""

    decision: Decision
    images: list[Evidence]
    checks: list[CheckRow]
    headline: ReasonBadge | None


def approval_rows(
    decisions: Sequence[Decision], *, current: Mapping[str, ProviderConfig | ProviderSetting]
) -> list[ApprovalRow]:
    rows = []
    for decision in decisions:
        case = decision.case
        images = [e for e in case.evidence.all() if e.round == case.round and not e.is_purged]
        checks = [c for c in case.checks.all() if c.round == case.round]
        rows.append(ApprovalRow(decision, images, check_rows(checks, current=current), headline(case)))
    return rows
