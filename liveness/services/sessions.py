"""Hosted verification sessions: a link the partner sends its applicant, a challenge the server issues
and checks, and the result handed to the ordinary intake as a case (or a case's next round).

Rules the server enforces (the page only shows prompts and sends frames):

* The link's token is 256 random bits; only its sha256 is stored. It works while the session is
  ``created`` or ``opened`` and not past ``expires_at``; submission consumes it (single use).
* Consent first: nothing is accepted before the applicant accepted the consent text (time and the
  text's version are recorded).
* The challenge is drawn when the applicant starts, never before: ``front`` then 2-4 more, distinct, drawn
  with :mod:`secrets` from the parameters that *change* the face (left, right, up, down, eyes closed, mouth
  open). "eyes open" and "mouth closed" are the resting face ``front`` already shows: asking for them proves
  nothing, and two captures of a still face would look like copies of each other (``repeated_frame``).
  Each prompt is issued (and revealed) only when
  the previous one is complete, so the order cannot be known in advance.
* Each prompt takes ``HOSTED_BURST_FRAMES`` frames, numbered 0..n-1, which must arrive in order within
  ``HOSTED_PROMPT_SECONDS`` of the prompt's issue (the server's clock). A late, repeated, reordered or
  extra frame is refused with a reason and nothing of it is stored. (Frames that are copies of one
  another are not refused: they are the engine's ``repeated_frame`` finding on the case.)
* After a late frame the applicant may start again (a fresh random challenge; the frames of the old one
  are deleted), at most ``HOSTED_CHALLENGE_ATTEMPTS`` times.
* At submission the best frame of each burst (see :func:`frame_rank`) becomes the case's evidence
  through ``case_create`` / ``case_resubmit``: checks, policy, review and webhooks are the ordinary ones.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import storage
from ..intake import ImageRejected, ValidatedImage, validate_image
from ..models import (
    OPEN_SESSION_STATUSES,
    Case,
    CaseKind,
    CaseStatus,
    EvidenceRole,
    Partner,
    VerificationFrame,
    VerificationSession,
    VerificationSessionStatus,
)
from ..vocabulary import FACE_PARAMETERS
from .audit import audit_record
from .cases import CaseInputError, IncomingImage, case_create
from .resubmission import case_resubmit
from .webhooks import webhook_enqueue_session, webhook_url_problem

logger = logging.getLogger(__name__)

#: The version of the consent text the page shows (templates/hosted/_consent.html). Change it with the text.
CONSENT_VERSION = "2026-11-28.1"
FIRST_PROMPT = "front"


class SessionError(Exception):
    """A request the session refuses. ``status`` is the HTTP status the API and the page answer with."""

    def __init__(self, code: str, message: str, *, status: int = 409, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.field = field


@dataclass(frozen=True)
class SessionCreated:
    session: VerificationSession
    token: str  # shown once (in the link); never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _label(session: VerificationSession) -> str:
    return f"session:{session.public_id}"


def _audit(session: VerificationSession, action: str, *, actor: User | None = None, **data: Any) -> None:
    audit_record(
        action=f"session.{action}",
        case=session.case,
        actor=actor,
        actor_label="" if actor is not None else _label(session),
        data={"session": str(session.public_id), **data},
    )


# --- create, read, cancel, expire ------------------------------------------------------------------


def session_create(
    *,
    kind: str,
    partner: Partner | None = None,
    case: Case | None = None,
    created_by: User | None = None,
    external_ref: str = "",
    country_code: str = "",
    card_code: str = "",
    redirect_url: str = "",
    expires_in: int | None = None,
    locale: str = "en",
    actor_label: str = "",
) -> SessionCreated:
    """A new session (for a new case, or for ``case``'s resubmission). Raises SessionError (nothing written)."""
    if case is not None:
        if case.status != CaseStatus.RESUBMISSION_REQUESTED:
            raise SessionError("invalid_state", "this case is not waiting for a resubmission", status=409, field="case")
        if kind and kind != case.kind:
            raise SessionError("invalid", f"a resubmission session takes the case's kind ({case.kind})", field="kind")
        kind = case.kind
        external_ref = external_ref or case.external_ref
        country_code, card_code = case.country_code, case.card_code
        if VerificationSession.objects.filter(case=case, status__in=OPEN_SESSION_STATUSES).exists():
            raise SessionError("session_open", "this case already has an open session; cancel it first", field="case")
    if kind not in CaseKind.values:
        raise SessionError("invalid_choice", f"must be one of {', '.join(CaseKind.values)}", status=400, field="kind")
    if kind == CaseKind.ID_DOCUMENT:
        for name, value in (("country_code", country_code), ("card_code", card_code)):
            if not value.strip():
                raise SessionError("required", "required for id_document sessions", status=400, field=name)
    else:
        for name, value in (("country_code", country_code), ("card_code", card_code)):
            if value.strip():
                raise SessionError("not_allowed", "only id_document sessions take this field", status=400, field=name)
    if redirect_url:
        # The same rule as webhook targets (https, public addresses unless WEBHOOK_ALLOW_INSECURE_URLS).
        problem = webhook_url_problem(redirect_url, resolve=False, what="the redirect URL")
        if problem:
            raise SessionError("redirect_url_not_allowed", problem, status=400, field="redirect_url")
    seconds = settings.HOSTED_SESSION_DEFAULT_SECONDS if expires_in is None else expires_in
    low, high = settings.HOSTED_SESSION_MIN_SECONDS, settings.HOSTED_SESSION_MAX_SECONDS
    if not low <= seconds <= high:
        raise SessionError("out_of_range", f"must be between {low} and {high} seconds", status=400, field="expires_in")
    locale = locale or settings.LANGUAGE_CODE.split("-")[0]
    if locale not in {code for code, _ in settings.LANGUAGES}:
        supported = ", ".join(code for code, _ in settings.LANGUAGES)
        raise SessionError("unsupported_locale", f"supported locales: {supported}", status=400, field="locale")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        session = VerificationSession.objects.create(
            partner=partner if case is None else case.partner,
            case=case,
            is_resubmission=case is not None,
            kind=kind,
            external_ref=external_ref,
            country_code=country_code.strip().upper(),
            card_code=card_code.strip(),
            redirect_url=redirect_url,
            locale=locale,
            token_hash=token_hash(token),
            expires_at=timezone.now() + timedelta(seconds=seconds),
            created_by=created_by,
        )
        audit_record(
            action="session.created",
            case=case,
            actor=created_by,
            actor_label=actor_label,
            data={
                "session": str(session.public_id),
                "kind": kind,
                "resubmission": case is not None,
                "expires_at": session.expires_at.isoformat(),
                "external_ref": external_ref,
            },
        )
    return SessionCreated(session, token)


def _purge_frames(session: VerificationSession, *, keep_rows: bool = True) -> None:
    """Delete the stored bytes of the session's frames (rows stay, with what was measured)."""
    now = timezone.now()
    for frame in session.frames.filter(purged_at__isnull=True):
        storage.delete(frame.storage_key)
        if keep_rows:
            VerificationFrame.objects.filter(pk=frame.pk).update(purged_at=now, storage_key="")


def _end(session: VerificationSession, status: str, *, actor: User | None = None, actor_label: str = "") -> bool:
    """created|opened -> ``status`` with a conditional update; True only for the call that made the change."""
    now = timezone.now()
    query = VerificationSession.objects.filter(pk=session.pk, status__in=OPEN_SESSION_STATUSES)
    if status == VerificationSessionStatus.EXPIRED:
        query = query.filter(expires_at__lte=now)
    with transaction.atomic():
        if not query.update(status=status, ended_at=now, updated_at=now):
            return False
        session.refresh_from_db()
        audit_record(
            action=f"session.{status}",
            case=session.case,
            actor=actor,
            actor_label=actor_label or ("" if actor else _label(session)),
            data={"session": str(session.public_id)},
        )
        if status == VerificationSessionStatus.EXPIRED:
            webhook_enqueue_session(session=session, event="verification_session.expired")
    _purge_frames(session)
    return True


def session_expire_if_due(session: VerificationSession) -> VerificationSession:
    """Expire on read: idempotent (a conditional update; only one caller sends the webhook)."""
    if session.status in OPEN_SESSION_STATUSES and session.expires_at <= timezone.now():
        _end(session, VerificationSessionStatus.EXPIRED)
        session.refresh_from_db()
    return session


def sessions_expire_due() -> int:
    """The periodic sweep: expire every open session past its time. Returns how many it expired."""
    now = timezone.now()
    due = VerificationSession.objects.filter(status__in=OPEN_SESSION_STATUSES, expires_at__lte=now)
    expired = sum(1 for session in due[:1000] if _end(session, VerificationSessionStatus.EXPIRED))
    # Copies a crash left behind (e.g. between a submission's commit and its clean-up) go too.
    for frame in VerificationFrame.objects.filter(purge_after__lte=now, purged_at__isnull=True)[:1000]:
        storage.delete(frame.storage_key)
        VerificationFrame.objects.filter(pk=frame.pk).update(purged_at=now, storage_key="")
    return expired


def session_cancel(
    session: VerificationSession, *, actor: User | None = None, actor_label: str = ""
) -> VerificationSession:
    session_expire_if_due(session)
    if not _end(session, VerificationSessionStatus.CANCELLED, actor=actor, actor_label=actor_label):
        session.refresh_from_db()
        raise SessionError("invalid_state", f"the session is {session.status}; only an open session can be cancelled")
    session.refresh_from_db()
    return session


def session_by_token(token: str) -> VerificationSession | None:
    """The session a link's token opens (any status), expired on read when due; None for an unknown token."""
    if not token or len(token) > 100:
        return None
    session = VerificationSession.objects.select_related("partner").filter(token_hash=token_hash(token)).first()
    return session_expire_if_due(session) if session is not None else None


# --- the applicant's steps ---------------------------------------------------------------------------


def _locked(session: VerificationSession) -> VerificationSession:
    """The session row, locked for this transaction, and still usable; SessionError otherwise."""
    locked = VerificationSession.objects.select_for_update().get(pk=session.pk)
    if locked.status in OPEN_SESSION_STATUSES and locked.expires_at <= timezone.now():
        raise SessionError("expired", _("this link has expired"), status=410)
    if locked.status not in OPEN_SESSION_STATUSES:
        raise SessionError(
            locked.status,
            _("this link can no longer be used (the session is %(status)s)") % {"status": locked.status},
            status=410,
        )
    return locked


def session_open(session: VerificationSession) -> VerificationSession:
    """The applicant opened the link: created -> opened (once)."""
    now = timezone.now()
    if VerificationSession.objects.filter(pk=session.pk, status=VerificationSessionStatus.CREATED).update(
        status=VerificationSessionStatus.OPENED, opened_at=now, updated_at=now
    ):
        session.refresh_from_db()
        _audit(session, "opened")
    return session


def session_consent(session: VerificationSession, *, version: str) -> VerificationSession:
    if version != CONSENT_VERSION:
        raise SessionError(
            "consent_outdated", _("the consent text has changed; reload the page and read it again"), status=409
        )
    with transaction.atomic():
        locked = _locked(session)
        if locked.consent_accepted_at is None:
            locked.consent_accepted_at = timezone.now()
            locked.consent_version = version
            if locked.status == VerificationSessionStatus.CREATED:
                locked.status = VerificationSessionStatus.OPENED
                locked.opened_at = locked.consent_accepted_at
            locked.save()
            _audit(locked, "consent_accepted", version=version)
    session.refresh_from_db()
    return session


#: The parameters a challenge draws from after ``front``: each one changes the face visibly.
ACTIONS: tuple[str, ...] = tuple(p for p in FACE_PARAMETERS if p not in (FIRST_PROMPT, "eyes open", "mouth closed"))


def draw_challenge() -> list[str]:
    """``front`` then 2-4 distinct actions (:data:`ACTIONS`), drawn with a CSPRNG (or the test-only fixed list)."""
    fixed: Sequence[str] = settings.HOSTED_FIXED_CHALLENGE
    if fixed:
        return list(fixed)
    rng = secrets.SystemRandom()
    count = rng.randint(settings.HOSTED_CHALLENGE_MIN, settings.HOSTED_CHALLENGE_MAX)
    return [FIRST_PROMPT, *rng.sample(ACTIONS, count - 1)]


def _current(prompts: list[dict[str, Any]]) -> int | None:
    return next((i for i, p in enumerate(prompts) if not p.get("completed_at")), None)


def _deadline(prompt: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(prompt["issued_at"]) + timedelta(seconds=settings.HOSTED_PROMPT_SECONDS)


def prompt_view(session: VerificationSession) -> dict[str, Any] | None:
    """What the page may know now: the current prompt (never the ones not yet issued)."""
    index = _current(session.prompts) if session.prompts else None
    if index is None:
        return None
    prompt = session.prompts[index]
    return {
        "index": index,
        "parameter": prompt["parameter"],
        "issued_at": prompt["issued_at"],
        "deadline": _deadline(prompt).isoformat(),
        "seconds": settings.HOSTED_PROMPT_SECONDS,
        "burst": settings.HOSTED_BURST_FRAMES,
        "received": session.frames.filter(role=EvidenceRole.FRAME, prompt_index=index).count(),
    }


def _needs_challenge(kind: str) -> bool:
    return kind == CaseKind.ACTIVE


def challenge_start(session: VerificationSession) -> VerificationSession:
    """Issue the challenge (the first prompt now, the others one by one as each completes).

    Allowed once, and again only when the running challenge timed out (a fresh draw; the old frames go).
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(session)
        if locked.consent_accepted_at is None:
            raise SessionError("consent_required", _("accept the consent first: nothing is captured before it"))
        current = _current(locked.prompts) if locked.prompts else None
        if locked.prompts and current is None:
            raise SessionError("challenge_complete", _("the challenge is already complete"))
        if locked.prompts and current is not None and _deadline(locked.prompts[current]) > now:
            raise SessionError("challenge_running", _("a challenge is already running; answer its current prompt"))
        if locked.challenge_attempts >= settings.HOSTED_CHALLENGE_ATTEMPTS:
            raise SessionError(
                "too_many_attempts",
                _("the challenge was started %(count)s times; ask for a new link")
                % {"count": locked.challenge_attempts},
                status=429,
            )
        if locked.case is not None and locked.kind == CaseKind.ACTIVE:
            # A resubmission answers the case's own parameters (the service rule for every resubmission).
            parameters = list(locked.case.face_parameters)
        elif _needs_challenge(locked.kind):
            parameters = draw_challenge()
        else:
            parameters = [FIRST_PROMPT]  # a selfie: one burst facing the camera
        stale = list(locked.frames.filter(role=EvidenceRole.FRAME))
        for frame in stale:
            storage.delete(frame.storage_key)
        locked.frames.filter(role=EvidenceRole.FRAME).delete()
        locked.prompts = [
            {"parameter": p, "issued_at": now.isoformat() if i == 0 else None, "completed_at": None}
            for i, p in enumerate(parameters)
        ]
        locked.challenge_started_at = now
        locked.challenge_attempts += 1
        locked.save()
        # The parameters are recorded in the audit trail; the page learns them one at a time.
        _audit(locked, "challenge_issued", attempt=locked.challenge_attempts, parameters=parameters)
    session.refresh_from_db()
    return session


def _captured_at(value: Any, now: datetime) -> datetime | None:
    """The browser's capture time (ms since the epoch), kept when plausible; informational only."""
    try:
        when = datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return when if abs((when - now).total_seconds()) < 86400 else None


def frame_rank(measures: dict[str, Any]) -> tuple[int, int, int, float, int]:
    """How good a burst frame is, higher is better, compared in this order:

    exactly one face; the face answers the prompt's parameter (the burst is the applicant's answer, so
    the frame that shows it is the one to send); the engine's quality checks pass; sharpness (variance of
    the Laplacian on the face at 160 px); face size (shorter side of the box, px). Measured with the
    local engine's analysis (``liveness.engine.analysis``); a frame it could not measure ranks last.
    """
    return (
        1 if measures.get("faces") == 1 else 0,
        1 if measures.get("answers_prompt") else 0,
        1 if measures.get("usable") else 0,
        float(measures.get("sharpness") or 0.0),
        int(measures.get("face_px") or 0),
    )


def measure_frame(content: bytes, parameter: str) -> dict[str, Any]:
    """The engine's analysis of one burst frame, reduced to what :func:`frame_rank` compares."""
    try:
        from ..engine.analysis import analyze_image

        analysis = analyze_image(content, with_passive=False)
    except Exception as exc:  # an engine without models must not stop the capture: rank it last
        logger.warning("frame analysis unavailable: %s", type(exc).__name__)
        return {"error": type(exc).__name__}
    quality = analysis.quality
    answers = analysis.parameters
    return {
        "faces": len(analysis.faces),
        "face_px": quality.face_px if quality else None,
        "sharpness": round(quality.sharpness, 1) if quality else None,
        "usable": quality.usable if quality else False,
        "answers_prompt": bool(answers and parameter and answers[parameter].matched) if answers else None,
    }


@dataclass(frozen=True)
class FrameAccepted:
    frame: VerificationFrame
    session: VerificationSession
    prompt_complete: bool
    challenge_complete: bool


def _validated(data: bytes, label: str) -> ValidatedImage:
    try:
        return validate_image(data, label=label)
    except ImageRejected as exc:
        raise SessionError(exc.code, exc.message, status=422, field="image") from exc


def frame_accept(
    session: VerificationSession, *, prompt_index: int, burst_index: int, data: bytes, captured_at: Any = None
) -> FrameAccepted:
    """Accept one burst frame, or refuse it with the reason (SessionError) and store nothing of it."""
    now = timezone.now()  # the arrival time: what the window is checked against
    valid = _validated(data, f"frame {prompt_index}.{burst_index}")
    burst = settings.HOSTED_BURST_FRAMES
    # The engine's analysis (hundreds of ms) runs before the row lock is taken: on SQLite a transaction
    # holds the whole database's write lock. A challenge re-drawn meanwhile is caught under the lock.
    snapshot = VerificationSession.objects.filter(pk=session.pk).values_list("prompts", flat=True).first() or []
    measured_for = snapshot[prompt_index]["parameter"] if 0 <= prompt_index < len(snapshot) else ""
    early_measures = measure_frame(valid.content, measured_for) if measured_for else {}
    try:
        with transaction.atomic():
            locked = _locked(session)
            prompts = list(locked.prompts)
            current = _current(prompts) if prompts else None
            refusal = _frame_refusal(locked, prompts, current, prompt_index, burst_index, valid, now)
            if refusal is not None:
                raise refusal
            assert current is not None
            parameter = prompts[current]["parameter"]
            measures = early_measures if parameter == measured_for else measure_frame(valid.content, parameter)
            key = storage.put(valid.content, prefix=f"sessions/{now:%Y/%m/%d}")
            try:
                frame = VerificationFrame.objects.create(
                    session=locked,
                    role=EvidenceRole.FRAME,
                    prompt_index=prompt_index,
                    burst_index=burst_index,
                    parameter=parameter,
                    captured_at=_captured_at(captured_at, now),
                    received_at=now,
                    **valid.stored_fields(),
                    storage_key=key,
                    measures=measures,
                    purge_after=locked.expires_at + timedelta(days=1),
                )
                prompt_complete = burst_index == burst - 1
                if prompt_complete:
                    prompts[current] = {**prompts[current], "completed_at": now.isoformat()}
                    if current + 1 < len(prompts):
                        prompts[current + 1] = {**prompts[current + 1], "issued_at": now.isoformat()}
                    locked.prompts = prompts
                    locked.save(update_fields=["prompts", "updated_at"])
                _audit(
                    locked,
                    "frame_received",
                    prompt=prompt_index,
                    burst=burst_index,
                    parameter=parameter,
                    sha256=valid.sha256,
                )
                if prompt_complete and current + 1 < len(prompts):
                    _audit(locked, "prompt_issued", prompt=current + 1, parameter=prompts[current + 1]["parameter"])
            except BaseException:
                storage.delete(key)
                raise
    except SessionError as exc:
        if exc.status != 410:
            _audit(session, "frame_refused", prompt=prompt_index, burst=burst_index, code=exc.code)
        raise
    except IntegrityError as exc:  # two requests raced for the same slot: the loser is a repeat
        raise SessionError("repeated_frame", _("this frame was already received"), field="burst") from exc
    session.refresh_from_db()
    return FrameAccepted(frame, session, prompt_complete, _current(session.prompts) is None)


def _frame_refusal(
    locked: VerificationSession,
    prompts: list[dict[str, Any]],
    current: int | None,
    prompt_index: int,
    burst_index: int,
    valid: ValidatedImage,
    now: datetime,
) -> SessionError | None:
    if locked.consent_accepted_at is None:
        return SessionError("consent_required", _("accept the consent first: nothing is captured before it"))
    if not prompts:
        return SessionError("challenge_not_started", _("start the challenge first: the server issues the prompts"))
    if current is None:
        return SessionError(
            "extra_frame", _("every prompt of the challenge is already complete; this frame was not stored")
        )
    if not 0 <= prompt_index < len(prompts):
        return SessionError(
            "extra_frame",
            _("the challenge has %(count)s prompts; there is no prompt %(prompt)s")
            % {"count": len(prompts), "prompt": prompt_index + 1},
        )
    if prompt_index < current:
        return SessionError(
            "repeated_prompt",
            _("prompt %(prompt)s is already complete; answer prompt %(current)s")
            % {"prompt": prompt_index + 1, "current": current + 1},
        )
    if prompt_index > current:
        return SessionError(
            "out_of_order",
            _("prompt %(prompt)s has not been issued yet; answer prompt %(current)s first")
            % {"prompt": prompt_index + 1, "current": current + 1},
        )
    if now > _deadline(prompts[current]):
        return SessionError(
            "late",
            _("the %(seconds)s seconds for this prompt ran out; start the challenge again")
            % {"seconds": settings.HOSTED_PROMPT_SECONDS},
        )
    received = locked.frames.filter(role=EvidenceRole.FRAME, prompt_index=current).count()
    if burst_index < received:
        return SessionError(
            "repeated_frame", _("frame %(frame)s of this prompt was already received") % {"frame": burst_index + 1}
        )
    if burst_index >= settings.HOSTED_BURST_FRAMES:
        return SessionError(
            "extra_frame",
            _("a prompt takes %(count)s frames; this one is extra") % {"count": settings.HOSTED_BURST_FRAMES},
        )
    if burst_index > received:
        return SessionError(
            "out_of_order", _("frame %(frame)s of this prompt must come first") % {"frame": received + 1}
        )
    # The same picture sent again in another slot is not refused here: copies are the engine's finding
    # (repeated_frame) on the case, which sends it to review with the evidence to look at.
    return None


def document_accept(session: VerificationSession, *, data: bytes) -> VerificationFrame:
    """The document front of an id_document session (camera or file picker); one, before submission."""
    valid = _validated(data, "document front")
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(session)
        if locked.kind != CaseKind.ID_DOCUMENT:
            raise SessionError("not_allowed", _("this session takes no document"), status=400, field="image")
        if locked.consent_accepted_at is None:
            raise SessionError("consent_required", _("accept the consent first: nothing is captured before it"))
        if locked.frames.filter(role=EvidenceRole.ID_FRONT).exists():
            raise SessionError("repeated_document", _("the document front was already received"))
        key = storage.put(valid.content, prefix=f"sessions/{now:%Y/%m/%d}")
        try:
            frame = VerificationFrame.objects.create(
                session=locked,
                role=EvidenceRole.ID_FRONT,
                received_at=now,
                **valid.stored_fields(),
                storage_key=key,
                purge_after=locked.expires_at + timedelta(days=1),
            )
            _audit(locked, "document_received", sha256=valid.sha256)
        except BaseException:
            storage.delete(key)
            raise
    return frame


def _best_frames(session: VerificationSession) -> list[VerificationFrame]:
    frames = list(session.frames.filter(role=EvidenceRole.FRAME))
    best = []
    for index in range(len(session.prompts)):
        burst = [f for f in frames if f.prompt_index == index]
        # Ties keep the earliest frame of the burst.
        best.append(max(burst, key=lambda f: (frame_rank(f.measures), -f.burst_index)))
    return best


def session_submit(session: VerificationSession) -> VerificationSession:
    """Consume the token and hand the result to the ordinary intake. Raises SessionError."""
    with transaction.atomic():
        locked = _locked(session)
        if not locked.prompts or _current(locked.prompts) is not None:
            raise SessionError("challenge_incomplete", _("answer every prompt of the challenge before submitting"))
        document = locked.frames.filter(role=EvidenceRole.ID_FRONT).first()
        if locked.kind == CaseKind.ID_DOCUMENT and document is None:
            raise SessionError("document_missing", _("add the document front before submitting"))
        best = _best_frames(locked)
        images = _incoming(locked, best, document)
        label = _label(locked)
        try:
            if locked.case is not None:
                case = case_resubmit(case=locked.case, images=images, actor_label=label)
            else:
                case = case_create(
                    kind=locked.kind,
                    images=images,
                    partner=locked.partner,
                    created_by=locked.created_by,
                    external_ref=locked.external_ref,
                    country_code=locked.country_code,
                    card_code=locked.card_code,
                    face_parameters=[p["parameter"] for p in locked.prompts] if locked.kind == CaseKind.ACTIVE else (),
                    actor_label=label,
                ).case
        except (CaseInputError, ImageRejected) as exc:
            raise SessionError(getattr(exc, "code", "invalid"), str(exc), status=422) from exc
        now = timezone.now()
        VerificationFrame.objects.filter(pk__in=[f.pk for f in best] + ([document.pk] if document else [])).update(
            chosen=True
        )
        locked.status = VerificationSessionStatus.SUBMITTED
        locked.submitted_at = now
        locked.case = case
        locked.round = case.round
        locked.save()
        _audit(locked, "submitted", round=case.round, chosen=[f.burst_index for f in best])
        webhook_enqueue_session(session=locked, event="verification_session.submitted")
    locked.refresh_from_db()
    # The chosen images now live on as the case's evidence; the session's own copies go.
    transaction.on_commit(lambda: _purge_frames(locked))
    return locked


def _incoming(
    session: VerificationSession, best: list[VerificationFrame], document: VerificationFrame | None
) -> list[IncomingImage]:
    def read(frame: VerificationFrame) -> bytes:
        try:
            return storage.get(frame.storage_key)
        except storage.EvidenceUnavailable as exc:
            raise SessionError(
                "frames_unavailable", _("the captured images are no longer available"), status=410
            ) from exc

    def already_validated(frame: VerificationFrame, content: bytes) -> ValidatedImage | None:
        """The frame as frame_accept validated and normalised it: the intake takes it without a second
        decode and re-encode. Only if the stored bytes are still the ones hashed then."""
        if hashlib.sha256(content).hexdigest() != frame.sha256:
            return None  # validated again, like any upload
        return ValidatedImage(content, frame.content_type, frame.width, frame.height, frame.sha256)

    def incoming(frame: VerificationFrame, **fields: Any) -> IncomingImage:
        content = read(frame)
        return IncomingImage(data=content, validated=already_validated(frame, content), **fields)

    if session.kind == CaseKind.ACTIVE:
        return [incoming(f, role=EvidenceRole.FRAME, index=i, face_parameter=f.parameter) for i, f in enumerate(best)]
    images = [incoming(best[0], role=EvidenceRole.SELFIE)]
    if document is not None:
        images.insert(0, incoming(document, role=EvidenceRole.ID_FRONT))
    return images
