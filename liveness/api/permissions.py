"""Who may call what: partner keys for the partner endpoints, operator roles for the operator ones.

Operators are checked by Django permission (the console's groups grant them), never by group name.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .authentication import PartnerClient


class IsPartner(BasePermission):
    message = "this endpoint takes a partner API key"
    code = "partner_key_required"

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, PartnerClient)


class _HasPerm(BasePermission):
    perm = ""
    message = ""
    code = "permission_denied"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, User) and user.is_active and user.has_perm(self.perm)


class IsOperator(_HasPerm):
    perm = "liveness.decide_case"
    message = "this endpoint is for operators (permission liveness.decide_case)"
    code = "operator_required"


class IsSupervisor(_HasPerm):
    perm = "liveness.approve_override"
    message = "only a supervisor may approve or refuse an override (permission liveness.approve_override)"
    code = "supervisor_required"


class IsSupervisorReader(_HasPerm):
    """Supervisors' read-only figures (the accuracy report): the console dashboard's permission."""

    perm = "liveness.view_dashboard"
    message = "this endpoint is for supervisors (permission liveness.view_dashboard)"
    code = "supervisor_required"
