import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from liveness import urls as lurls
from tests.console_support import user_in_role
from tests.factories import CaseFactory
pytestmark = pytest.mark.django_db

def test_probe():
    case = CaseFactory.create(status="needs_review")
    sam = user_in_role("supervisor", "sam")
    anon = Client()
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(sam)
    for p in lurls.urlpatterns:
        name = p.name
        kwargs = {}
        s = str(p.pattern)
        if "<uuid:public_id>" in s: kwargs["public_id"] = case.public_id
        if "<int:evidence_id>" in s: kwargs["evidence_id"] = 1
        if "<int:decision_id>" in s: kwargs["decision_id"] = 1
        if "<int:delivery_id>" in s: kwargs["delivery_id"] = 1
        if "<str:key>" in s: kwargs["key"] = "local"
        url = reverse(name, kwargs=kwargs)
        print(f"{name:28} anonGET={anon.get(url).status_code} anonPOST={anon.post(url).status_code} csrfPOST={csrf.post(url).status_code}")
