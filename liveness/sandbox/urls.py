"""The simulators, each under ``/sandbox/<vendor>/`` followed by the vendor's own documented path, so a
vendor URL changes only in its host part. Mounted by ``kyc_portal/urls.py`` only when SANDBOX_ENABLED.
"""

from django.urls import path

from . import views

app_name = "sandbox"

urlpatterns = [
    path("accura/v2/api/liveness", views.accura_face_liveness, name="accura_face"),
    path("accura/v2/api/id-liveness", views.accura_id_liveness, name="accura_id"),
    path("kairos/v0.2/liveness-verification", views.kairos_liveness_verification, name="kairos"),
    path("riset/liveness-api/verify-face-liveness", views.riset_verify_face_liveness, name="riset"),
]
