"""URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("liveness.api.urls")),
    # Hosted verification: the link a partner sends its applicant (no login; the token is the credential).
    path("v/", include("liveness.hosted.urls")),
    path("", include("liveness.urls")),
]

if settings.SANDBOX_ENABLED:
    # The vendor simulators (development and demos only; production settings keep this off).
    urlpatterns.insert(0, path("sandbox/", include("liveness.sandbox.urls")))

handler500 = "kyc_portal.errors.server_error"
