"""Turning stored checks into what the case page draws: score bars, face boxes, per-image observations.

Pure functions over model instances already loaded (no queries). Providers put their normalised detail in
``Check.details``; the local engine's shape is ``details["images"][i]`` with ``role``, ``index``,
``image`` {width, height} and ``faces[j]["box"]`` {left, top, right, bottom} in image pixels. The vendor
adapters store their own shapes: Riset one ``details["frames"][i]`` per frame sent (``match``, ``pose``,
``eyes`` {left, right}, ``mouth``, ``spoof``), Kairos a top-level ``faces_predicted`` list of boxes with
``img`` {width, height} for its single image, Accura only ``face_found`` and a ``quality`` word. Boxes may
also come as x/y/width/height or as 0..1 fractions. Everything here reads whatever of that is present and
skips what is not; it never invents a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from ..models import Case, CaseKind, CaseStatus, Check, CheckStatus, Evidence, EvidenceRole, ProviderSetting
from ..providers import UnknownProvider, get_provider

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


def is_heuristic(check: Check) -> bool:
    """A score from a heuristic (not a trained detector) must say so wherever it is shown."""
    if isinstance(check.details, Mapping) and check.details.get("heuristic"):
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _box_edges(raw: Any) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) from a dict of edges, a dict of x/y/width/height, or a 4-list of edges."""
    if isinstance(raw, Mapping):
        edges = [_number(raw.get(k)) for k in ("left", "top", "right", "bottom")]
        if all(e is not None for e in edges):
            left, top, right, bottom = (float(e) for e in edges if e is not None)
            return left, top, right, bottom
        keys = (("x", "x"), ("y", "y"), ("width", "w"), ("height", "h"))
        xywh = [_number(raw.get(k, raw.get(alt))) for k, alt in keys]
        if all(v is not None for v in xywh):
            x, y, w, h = (float(v) for v in xywh if v is not None)
            return x, y, x + w, y + h
        return None
    if isinstance(raw, list | tuple) and len(raw) == 4:
        values = [_number(v) for v in raw]
        if all(v is not None for v in values):
            left, top, right, bottom = (float(v) for v in values if v is not None)
            return left, top, right, bottom
    return None


def face_box(
    raw: Any, *, image_width: float, image_height: float, provider: str, colour: int, label: str, is_main: bool
) -> FaceBox | None:
    """A box in percent of the image, or None when ``raw`` is not a box we can place."""
    edges = _box_edges(raw)
    if edges is None or image_width <= 0 or image_height <= 0:
        return None
    left, top, right, bottom = edges
    if right <= left or bottom <= top:
        return None
    if max(edges) > 1.0:  # pixels; all values within 0..1 are fractions of the image
        left, right = left / image_width, right / image_width
        top, bottom = top / image_height, bottom / image_height
    left, top = max(0.0, left), max(0.0, top)
    right, bottom = min(1.0, right), min(1.0, bottom)
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


#: Top-level keys that make a single-image vendor's details one image entry (Kairos, Accura).
_SINGLE_IMAGE_KEYS = ("faces", "faces_predicted", "box", "face_found")


def image_entries(details: Any) -> list[dict[str, Any]]:
    """The per-image detail dicts of a check, in the order the images were sent: the local engine's
    ``images``, Riset's ``frames``, or a single-image vendor's top level as one entry."""
    if not isinstance(details, Mapping):
        return []
    for key in ("images", "frames"):
        listed = details.get(key)
        if isinstance(listed, list):
            return [entry for entry in listed if isinstance(entry, dict)]
    if any(key in details for key in _SINGLE_IMAGE_KEYS):
        return [dict(details)]
    return []


def _faces(entry: Mapping[str, Any]) -> list[Any] | None:
    """The face list of an image entry (``faces_predicted`` is Kairos's name for it), None if absent."""
    for key in ("faces", "faces_predicted"):
        if isinstance(entry.get(key), list):
            return list(entry[key])
    return None


def request_order(evidence: Sequence[Evidence], kind: str) -> list[Evidence]:
    """The order a check's images were sent in (as ``check_request_build`` builds it): frames by index,
    otherwise the primary image (the document of an ID case, else the selfie) first."""
    if kind == CaseKind.ACTIVE:
        return sorted(evidence, key=lambda e: e.index)
    primary = EvidenceRole.ID_FRONT if kind == CaseKind.ID_DOCUMENT else EvidenceRole.SELFIE
    return sorted(evidence, key=lambda e: (e.role != primary, e.role, e.index))


def _entry_evidence(
    entry: Mapping[str, Any], position: int, ordered: Sequence[Evidence], by_slot: Mapping[tuple[str, int], Evidence]
) -> Evidence | None:
    role, index = entry.get("role"), entry.get("index")
    if isinstance(role, str) and role:
        return by_slot.get((role, index if isinstance(index, int) else 0))
    return ordered[position] if position < len(ordered) else None


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


def _pose(value: Any) -> str:
    if not isinstance(value, Mapping):
        return _fmt(value)
    parts = [f"{axis} {v:+.1f}°" for axis in ("yaw", "pitch", "roll") if (v := _number(value.get(axis))) is not None]
    if parts:
        return ", ".join(parts)
    # Angles the provider left empty (Riset's nulls) are not a pose worth a line.
    return _fmt({k: v for k, v in value.items() if v is not None})


def _state(value: Any) -> str:
    """Eye / mouth state: "open (ratio 0.31, bound 0.2)" from whatever keys the provider gave; per-eye
    states ({"left": {...}, "right": {...}}, as Riset reports them; the local engine's "image_left" /
    "image_right") as "left open (…), right closed (…)" after the combined state."""
    if not isinstance(value, Mapping):
        return _fmt(value)
    sides = [side for side in ("left", "right") if isinstance(value.get(side), Mapping)]
    if sides:
        return ", ".join(f"{side} {_state(value[side])}" for side in sides)
    image_sides = [side for side in ("image_left", "image_right") if isinstance(value.get(side), Mapping)]
    if image_sides and value.get("state"):
        each = ", ".join(f"{side.replace('_', ' ')} {_state(value[side])}" for side in image_sides)
        return f"{value['state']} ({each})"
    state = value.get("state") or value.get("label")
    if state is None and isinstance(value.get("open"), bool):
        state = "open" if value["open"] else "closed"
    rest = {k: v for k, v in value.items() if k not in ("state", "label", "open")}
    extra = _fmt(rest)
    return f"{state} ({extra})" if state and extra else str(state or extra)


#: Where a provider says whether a frame answered its parameter (``match`` is Riset's per-frame field).
_MATCH_KEYS = ("parameter_match", "parameter_check", "parameter", "answer", "matched", "match")


def _parameter_match(entry: Mapping[str, Any]) -> tuple[bool | None, str]:
    for key in _MATCH_KEYS:
        value = entry.get(key)
        if isinstance(value, bool):
            return value, ""
        if isinstance(value, Mapping):
            for flag in ("matched", "passed", "match", "answer"):
                if isinstance(value.get(flag), bool):
                    rest = {k: v for k, v in value.items() if k != flag}
                    return bool(value[flag]), _fmt(rest)
    return None, ""


def observation(provider: str, entry: Mapping[str, Any]) -> Observation:
    """The facts worth showing an operator from one image's detail, labelled, in a stable order."""
    obs = Observation(provider=provider)
    main = entry.get("main_face") if isinstance(entry.get("main_face"), Mapping) else {}
    assert isinstance(main, Mapping)

    def pick(key: str) -> Any:
        return entry.get(key, main.get(key))

    faces = _faces(entry)
    if (outcome := entry.get("face_outcome")) is not None:
        obs.facts.append(("faces", f"{str(outcome).replace('_', ' ')} ({entry.get('face_count', '?')})"))
    elif faces is not None:
        obs.facts.append(("faces", str(len(faces))))
    elif isinstance(entry.get("face_found"), bool):
        obs.facts.append(("faces", "found" if entry["face_found"] else "none found"))
    if (pose := pick("pose")) is not None and (text := _pose(pose)):
        obs.facts.append(("pose", text))
    for key in ("eyes", "mouth"):
        if (value := pick(key)) is not None and (text := _state(value)):
            obs.facts.append((key, text))
    quality = entry.get("quality")
    if isinstance(quality, Mapping):
        usable = quality.get("usable")
        reasons = quality.get("reasons") or []
        text = "usable" if usable else "not usable"
        if reasons:
            text += ": " + ", ".join(str(r).replace("_", " ") for r in reasons)
        obs.facts.append(("quality", text))
    elif isinstance(quality, str) and quality:
        obs.facts.append(("quality", quality))  # the vendor's own word (Accura: "good", "poor")
    if isinstance(spoof := entry.get("spoof"), str) and spoof:
        # The vendor's per-frame label and its confidence in that label (Riset's spoof / spoof_score).
        confidence = _number(entry.get("spoof_score"))
        obs.facts.append(("label", spoof + (f" ({confidence:.3f})" if confidence is not None else "")))
    passive = entry.get("passive")
    if isinstance(passive, Mapping):
        if passive.get("available") and _number(passive.get("real_probability")) is not None:
            obs.facts.append(("passive", f"real p={float(passive['real_probability']):.3f}"))
        elif passive.get("available") is False:
            obs.facts.append(("passive", "unavailable"))
    matched, why = _parameter_match(entry)
    obs.matched = matched
    if matched is not None and why:
        obs.facts.append(("parameter", why))
    return obs


def evidence_views(*, evidence: Sequence[Evidence], checks: Sequence[Check], kind: str) -> list[EvidenceView]:
    """Each image of the case with every provider's face boxes and observations attached."""
    views = {e.pk: EvidenceView(evidence=e) for e in evidence}
    providers = list(dict.fromkeys(c.provider for c in checks))
    for check in checks:
        if check.status != CheckStatus.SUCCEEDED:
            continue
        same_round = [e for e in evidence if e.round == check.round]
        ordered = request_order(same_round, kind)
        by_slot = {(e.role, e.index): e for e in same_round}
        colour = providers.index(check.provider) % PROVIDER_COLOURS
        for position, entry in enumerate(image_entries(check.details)):
            target = _entry_evidence(entry, position, ordered, by_slot)
            if target is None:
                continue
            view = views[target.pk]
            # The size the provider measured its boxes in ("img" is Kairos's name; it may have got a resized copy).
            size: Mapping[str, Any] = next(
                (entry[k] for k in ("image", "img") if isinstance(entry.get(k), Mapping)), {}
            )
            width = _number(size.get("width")) or float(target.width)
            height = _number(size.get("height")) or float(target.height)
            main = entry.get("main_face") if isinstance(entry.get("main_face"), Mapping) else None
            faces = _faces(entry) or []
            if not faces and "box" in entry:
                faces = [{"box": entry["box"]}]
            for face in faces:
                if not isinstance(face, Mapping):
                    continue
                score = _number(face.get("detection_score", face.get("confidence")))
                label = check.provider + (f" {score:.2f}" if score is not None else "")
                box = face_box(
                    face.get("box"),
                    image_width=width,
                    image_height=height,
                    provider=check.provider,
                    colour=colour,
                    label=label,
                    is_main=main is not None and main.get("box") == face.get("box") and len(faces) > 1,
                )
                if box is not None:
                    view.boxes.append(box)
            view.observations.append(observation(check.provider, entry))
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
            )
        )
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


def check_rows(checks: Sequence[Check], *, current: Mapping[str, ProviderSetting]) -> list[CheckRow]:
    rows = []
    for check in checks:
        threshold, margin, is_current = check.threshold, check.review_margin, False
        if threshold is None and check.provider in current:
            setting = current[check.provider]
            threshold, margin, is_current = setting.threshold, setting.review_margin, True
        rows.append(
            CheckRow(
                check=check,
                label=provider_label(check.provider),
                bar=score_bar(score=check.score, threshold=threshold, margin=margin),
                heuristic=is_heuristic(check),
                threshold=threshold,
                margin=margin,
                threshold_is_current=is_current,
                raw=raw_json(check.raw_response),
            )
        )
    return rows
