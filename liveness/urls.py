"""URLs of the liveness app: the operator console. The API and sandbox mount their own modules."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .console import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.case_list, name="case_list"),
    path("cases/<uuid:public_id>/", views.case_detail, name="case_detail"),
]
