"""/v/<token>/: the hosted verification page and its endpoints (mounted by kyc_portal/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.session_page, name="hosted_session"),
    path("<str:token>/consent", views.consent, name="hosted_consent"),
    path("<str:token>/start", views.start, name="hosted_start"),
    path("<str:token>/frames", views.frame, name="hosted_frame"),
    path("<str:token>/document", views.document, name="hosted_document"),
    path("<str:token>/submit", views.submit, name="hosted_submit"),
]
