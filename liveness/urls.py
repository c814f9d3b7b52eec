"""URLs of the liveness app: the operator console. The API and sandbox mount their own modules."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .console import views
from .console.views import faces, partners, resubmission
from .console.views.sessions import session_link_create

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # --- console ---
    path("", views.case_list, name="case_list"),
    path("queue/export.csv", views.case_export, name="case_export"),
    path("queue/next/", views.queue_take_next, name="queue_take_next"),
    path("queue/bulk/", views.queue_bulk, name="queue_bulk"),
    path("cases/new/", views.case_upload, name="case_upload"),
    path("sessions/new/", session_link_create, name="session_link_create"),
    path("cases/<uuid:public_id>/", views.case_detail, name="case_detail"),
    path("cases/<uuid:public_id>/live/", views.case_live, name="case_live"),
    path("cases/<uuid:public_id>/images/<int:evidence_id>/", views.evidence_image, name="evidence_image"),
    path("cases/<uuid:public_id>/faces/<int:template_id>/", faces.face_crop, name="face_crop"),
    path("cases/<uuid:public_id>/images/<int:evidence_id>/face/", faces.evidence_face, name="evidence_face"),
    path("cases/<uuid:public_id>/blocklist/", faces.blocklist_add_view, name="blocklist_add"),
    path("blocklist/", faces.blocklist_list, name="blocklist"),
    path("blocklist/<int:entry_id>/remove/", faces.blocklist_remove_view, name="blocklist_remove"),
    path("cases/<uuid:public_id>/decide/", views.case_decide, name="case_decide"),
    path("cases/<uuid:public_id>/next-round/", resubmission.case_resubmit_upload, name="case_resubmit_upload"),
    path("cases/<uuid:public_id>/claim/", views.case_claim, name="case_claim"),
    path("cases/<uuid:public_id>/release/", views.case_release, name="case_release"),
    path("cases/<uuid:public_id>/next/", views.case_next, name="case_next"),
    path("cases/<uuid:public_id>/close/", views.case_close_view, name="case_close"),
    path("approvals/", views.approval_list, name="approval_list"),
    path("approvals/<int:decision_id>/approve/", views.approval_approve, name="approval_approve"),
    path("approvals/<int:decision_id>/refuse/", views.approval_refuse, name="approval_refuse"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("accuracy/", views.accuracy_page, name="accuracy"),
    path("accuracy/export.csv", views.accuracy_export, name="accuracy_export"),
    path("providers/", views.provider_settings, name="provider_settings"),
    path("providers/<str:key>/", views.provider_setting_change, name="provider_setting_change"),
    path("partners/webhooks/", partners.partner_webhooks, name="partner_webhooks"),
    path("partners/<slug:slug>/webhook-url/", partners.partner_webhook_url, name="partner_webhook_url"),
    path("partners/<slug:slug>/webhook-secret/", partners.partner_webhook_secret, name="partner_webhook_secret"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:delivery_id>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:delivery_id>/redeliver/", views.webhook_redeliver_view, name="webhook_redeliver"),
]
