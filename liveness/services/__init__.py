"""Business logic. Views, API, admin actions, commands and tasks call these; nothing else writes."""

from .audit import audit_record
from .cases import (
    FACE_PARAMETERS,
    CaseCreated,
    CaseInputError,
    CaseStateConflict,
    IncomingImage,
    case_create,
)
from .checks import ExecuteOutcome, case_evaluate, check_execute, checks_requeue_stale
from .claims import ClaimConflict, ClaimError, ClaimForbidden, case_claim, case_release, cases_assign, queue_take_next
from .decisions import (
    DecisionConflict,
    DecisionError,
    DecisionForbidden,
    DecisionStale,
    case_close,
    case_state,
    cases_request_resubmission,
    decision_approve,
    decision_record,
    decision_refuse,
)
from .errors import Conflict, Invalid, NotFound, PermissionDenied, ServiceError, Stale, Unprocessable
from .idempotency import IdempotencyConflict, InvalidIdempotencyKey, Submission, request_fingerprint
from .providers import provider_config, provider_setting_get, providers_available, workflow_providers
from .resubmission import case_resubmit

__all__ = [
    "FACE_PARAMETERS",
    "CaseCreated",
    "CaseInputError",
    "CaseStateConflict",
    "ClaimConflict",
    "ClaimError",
    "ClaimForbidden",
    "Conflict",
    "DecisionConflict",
    "DecisionError",
    "DecisionForbidden",
    "DecisionStale",
    "ExecuteOutcome",
    "IdempotencyConflict",
    "IncomingImage",
    "Invalid",
    "InvalidIdempotencyKey",
    "NotFound",
    "PermissionDenied",
    "ServiceError",
    "Stale",
    "Submission",
    "Unprocessable",
    "audit_record",
    "case_claim",
    "case_close",
    "case_create",
    "case_evaluate",
    "case_release",
    "case_resubmit",
    "case_state",
    "cases_assign",
    "cases_request_resubmission",
    "check_execute",
    "checks_requeue_stale",
    "decision_approve",
    "decision_record",
    "decision_refuse",
    "provider_config",
    "provider_setting_get",
    "providers_available",
    "queue_take_next",
    "request_fingerprint",
    "workflow_providers",
]
