"""Console views, one module per page. Thin: read through selectors, write through services."""

from .accuracy import accuracy_export, accuracy_page
from .approvals import approval_approve, approval_list, approval_refuse
from .cases import (
    case_claim,
    case_close_view,
    case_decide,
    case_detail,
    case_live,
    case_next,
    case_release,
    evidence_image,
)
from .dashboard import dashboard
from .providers import provider_setting_change, provider_settings
from .queue import case_export, case_list, queue_bulk, queue_take_next
from .upload import case_upload
from .webhooks import webhook_detail, webhook_list, webhook_redeliver_view

__all__ = [
    "accuracy_export",
    "accuracy_page",
    "approval_approve",
    "approval_list",
    "approval_refuse",
    "case_claim",
    "case_close_view",
    "case_decide",
    "case_detail",
    "case_export",
    "case_list",
    "case_live",
    "case_next",
    "case_release",
    "case_upload",
    "dashboard",
    "evidence_image",
    "provider_setting_change",
    "provider_settings",
    "queue_bulk",
    "queue_take_next",
    "webhook_detail",
    "webhook_list",
    "webhook_redeliver_view",
]
