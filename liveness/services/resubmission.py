"""A resubmission: new evidence for a case whose operator asked for it, checked as a new round.

The case keeps its identity, partner reference and history; the new images become round n+1 with a
fresh check per provider, and the case goes back to processing. Bounded by MAX_RESUBMISSIONS (the
operator's request is what counts, see decisions.decision_record).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction

from .. import storage
from ..models import Case, CaseKind, CaseStatus
from ..providers import UnknownProvider, get_provider
from .audit import audit_record
from .cases import (
    CaseInputError,
    CaseStateConflict,
    IncomingImage,
    _validate_shape,
    checks_create_for_round,
    evidence_create_for_round,
    images_store,
    images_validate,
)
from .faces import face_search_schedule
from .fallback import checks_plan
from .providers import provider_is_available, provider_settings_snapshot, workflow_providers


def _providers_for(case: Case) -> list[str]:
    """The case's own providers that are still available, else today's workflow for its kind."""
    still = []
    for key in case.providers:
        try:
            if provider_is_available(get_provider(key), case.kind):
                still.append(key)
        except UnknownProvider:
            continue
    return still or workflow_providers(kind=case.kind, partner=case.partner, requested=None)


def resubmission_parameters_check(*, case: Case, given: Sequence[str]) -> None:
    """A resubmission answers the case's own face parameters: naming none is fine (the case's apply),
    naming any other list (or any for a case that has none) is refused. Raises CaseInputError."""
    if given and list(given) != list(case.face_parameters):
        raise CaseInputError(
            "face_parameters",
            f"a resubmission answers the case's own parameters: {', '.join(case.face_parameters) or 'none'}",
            code="invalid",
        )


@provider_settings_snapshot()  # one read of the providers' settings for the whole resubmission
def case_resubmit(
    *,
    case: Case,
    images: Sequence[IncomingImage],
    face_parameters: Sequence[str] = (),
    actor: User | None = None,
    actor_label: str = "",
) -> Case:
    """Attach new evidence to a case waiting for a resubmission and check it again.

    ``face_parameters`` is the request's list (the API's); without it, the frames' own parameters (upload
    form, hosted session). Either must be the case's own (``resubmission_parameters_check``).

    Raises CaseInputError (wrong state, wrong images; nothing written) or ImageRejected.
    """
    if case.status != CaseStatus.RESUBMISSION_REQUESTED:
        raise CaseStateConflict("case", "this case is not waiting for a resubmission", code="invalid_state")
    given = list(face_parameters)
    if not given and case.kind == CaseKind.ACTIVE:
        given = [i.face_parameter for i in sorted(images, key=lambda i: i.index) if i.face_parameter]
    resubmission_parameters_check(case=case, given=given)
    _validate_shape(
        kind=case.kind,
        images=images,
        country_code=case.country_code,
        card_code=case.card_code,
        face_parameters=case.face_parameters,
        success_threshold=case.success_threshold,
    )
    chosen = _providers_for(case)
    plan = checks_plan(kind=case.kind, partner=case.partner, chosen=chosen)
    chosen = [item.provider for item in plan]
    validated = images_validate(images)
    stored_keys = images_store(validated)
    try:
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            if locked.status != CaseStatus.RESUBMISSION_REQUESTED:  # someone else resubmitted first
                raise CaseStateConflict("case", "this case is not waiting for a resubmission", code="invalid_state")
            previous = {"round": locked.round, "final_verdict": locked.final_verdict}
            locked.transition(CaseStatus.PROCESSING)
            locked.round += 1
            locked.providers = chosen
            locked.auto_verdict = ""
            locked.auto_reasons = []
            locked.reason_codes = []
            locked.final_verdict = ""
            locked.decided_at = None
            locked.decided_by = None
            locked.save()
            evidence_create_for_round(case=locked, validated=validated, stored_keys=stored_keys)
            checks_create_for_round(case=locked, providers=chosen, plan=plan)
            face_search_schedule(case=locked)
            audit_record(
                action="case.resubmitted",
                case=locked,
                actor=actor,
                actor_label=actor_label,
                data={
                    "before": previous,
                    "round": locked.round,
                    "providers": chosen,
                    "evidence": [v.sha256 for _, v in validated],
                },
            )
    except BaseException:
        for key in stored_keys:
            storage.delete(key)
        raise
    case.refresh_from_db()
    return case
