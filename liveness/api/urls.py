"""/api/v1/: partner endpoints, operator endpoints, health, the OpenAPI schema and its UIs."""

from __future__ import annotations

from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import schema  # noqa: F401  (registers the API-key scheme with drf-spectacular)
from .views import accuracy, operator, partner, sessions, system

app_name = "api"

urlpatterns = [
    path("health", system.HealthApi.as_view(), name="health"),
    path("health/live", system.HealthLiveApi.as_view(), name="health-live"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a script of its own: no inline script, so the
    # page runs under the portal's Content-Security-Policy. Swagger UI and ReDoc inject <style> elements
    # (and ReDoc runs a worker from a blob:): those two pages get exactly these allowances, scripts stay 'self'.
    path(
        "docs/",
        csp_update({"style-src-elem": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "redoc/",
        csp_update({"style-src-elem": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="api:schema")
        ),
        name="redoc",
    ),
    path("cases/", partner.CaseCollectionApi.as_view(), name="cases"),
    path("cases/<uuid:public_id>/", partner.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<uuid:public_id>/resubmit/", partner.CaseResubmitApi.as_view(), name="case-resubmit"),
    path("verification-sessions/", sessions.SessionCollectionApi.as_view(), name="verification-sessions"),
    path(
        "verification-sessions/<uuid:public_id>/",
        sessions.SessionDetailApi.as_view(),
        name="verification-session-detail",
    ),
    path(
        "verification-sessions/<uuid:public_id>/cancel/",
        sessions.SessionCancelApi.as_view(),
        name="verification-session-cancel",
    ),
    path("operator/review-queue/", operator.ReviewQueueApi.as_view(), name="review-queue"),
    path("operator/cases/<uuid:public_id>/", operator.OperatorCaseDetailApi.as_view(), name="operator-case"),
    path(
        "operator/cases/<uuid:public_id>/decisions/",
        operator.DecisionCreateApi.as_view(),
        name="operator-decision-create",
    ),
    path(
        "operator/decisions/<int:decision_id>/approve/",
        operator.DecisionApproveApi.as_view(),
        name="operator-decision-approve",
    ),
    path(
        "operator/decisions/<int:decision_id>/refuse/",
        operator.DecisionRefuseApi.as_view(),
        name="operator-decision-refuse",
    ),
    path("supervisor/accuracy/", accuracy.AccuracyApi.as_view(), name="supervisor-accuracy"),
    # [\s\S]: a path may hold an encoded newline, which "." does not match (it fell through to HTML).
    re_path(r"^[\s\S]*$", system.ApiNotFound.as_view(), name="not-found"),
]
