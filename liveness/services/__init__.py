"""Business logic. Views, API, admin actions, commands and tasks call these; nothing else writes."""

from .audit import audit_record
from .cases import (
    FACE_PARAMETERS,
    CaseCreated,
    CaseInputError,
    CaseStateConflict,
    IdempotencyConflict,
    IncomingImage,
    case_create,
    request_fingerprint,
)
from .checks import ExecuteOutcome, case_evaluate, check_execute, checks_requeue_stale
from .decisions import (
    DecisionError,
    case_close,
    decision_approve,
    decision_record,
    decision_refuse,
)
from .errors import Conflict, Invalid, NotFound, PermissionDenied, ServiceError, Stale, Unprocessable
from .providers import provider_config, provider_setting_get, providers_available, workflow_providers
from .resubmission import case_resubmit

__all__ = [
    "FACE_PARAMETERS",
    "CaseCreated",
    "CaseInputError",
    "CaseStateConflict",
    "Conflict",
    "DecisionError",
    "ExecuteOutcome",
    "IdempotencyConflict",
    "IncomingImage",
    "Invalid",
    "NotFound",
    "PermissionDenied",
    "ServiceError",
    "Stale",
    "Unprocessable",
    "audit_record",
    "case_close",
    "case_create",
    "case_evaluate",
    "case_resubmit",
    "check_execute",
    "checks_requeue_stale",
    "decision_approve",
    "decision_record",
    "decision_refuse",
    "provider_config",
    "provider_setting_get",
    "providers_available",
    "request_fingerprint",
    "workflow_providers",
]
