"""The console's face-search panel, face crops and the blocklist pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from liveness.models import AuditEvent, BlocklistEntry, FaceTemplate
from liveness.services import faces
from tests import face_support
from tests.face_support import decided, near, vector

pytestmark = pytest.mark.django_db

face_search_on = face_support.face_search_on
fake_faces = face_support.fake_faces


@pytest.fixture
def pair(scripted, fake_faces):
    """An earlier case and a later one with the same face under another reference."""
    first = decided(scripted, fake_faces, vector(1), external_ref="first-ref")
    second = decided(scripted, fake_faces, near(vector(1)), external_ref="second-ref")
    return first, second


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_the_case_page_shows_the_repeat_with_both_faces_and_the_distance(client, role_user, pair):
    first, second = pair
    login(client, role_user("operator", "olga"))
    html = client.get(reverse("case_detail", args=[second.public_id])).content.decode()
    ours = FaceTemplate.objects.get(case=second)
    theirs = FaceTemplate.objects.get(case=first)
    assert "Repeat face:" in html
    assert reverse("case_detail", args=[first.public_id]) in html
    assert reverse("face_crop", args=[second.public_id, ours.pk]) in html
    assert reverse("face_crop", args=[first.public_id, theirs.pk]) in html
    assert "<strong>0.2</strong>" in html
    assert "very close: almost certainly the same person" in html
    assert "first-ref" in html
    assert "rule of thumb" in html  # the words are labelled as a heuristic
    assert "Put this case&#x27;s face on the blocklist" not in html  # operators cannot add


def test_a_face_crop_is_a_jpeg_and_is_audited(client, role_user, pair):
    first, _ = pair
    olga = role_user("operator", "olga")
    login(client, olga)
    template = FaceTemplate.objects.get(case=first)
    response = client.get(reverse("face_crop", args=[first.public_id, template.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="evidence.viewed", case=first)
    assert (event.actor, event.data["crop"], event.data["template"]) == (olga, "face", template.pk)
    # A template is only served under its own case.
    other = FaceTemplate.objects.exclude(case=first).get()
    assert client.get(reverse("face_crop", args=[first.public_id, other.pk])).status_code == 404


def test_a_face_crop_needs_view_evidence(client, pair):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    first, _ = pair
    viewer = UserFactory.create(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_case"))
    login(client, viewer)
    template = FaceTemplate.objects.get(case=first)
    assert client.get(reverse("face_crop", args=[first.public_id, template.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action="evidence.viewed").exists()


def test_a_supervisor_adds_and_removes_a_face_with_reasons(client, role_user, pair):
    first, _ = pair
    sam = role_user("supervisor", "sam")
    login(client, sam)
    page = client.get(reverse("case_detail", args=[first.public_id])).content.decode()
    assert reverse("blocklist_add", args=[first.public_id]) in page
    refused = client.post(reverse("blocklist_add", args=[first.public_id]), {"reason": "  "})
    assert refused.status_code == 400
    assert "a reason is required" in refused.content.decode()
    assert not BlocklistEntry.objects.exists()
    added = client.post(reverse("blocklist_add", args=[first.public_id]), {"reason": "fraud ring 42"})
    assert added.status_code == 302
    entry = BlocklistEntry.objects.get()
    assert (entry.case, entry.added_by, entry.reason) == (first, sam, "fraud ring 42")
    listing = client.get(reverse("blocklist")).content.decode()
    assert "fraud ring 42" in listing
    assert reverse("case_detail", args=[first.public_id]) in listing
    assert client.post(reverse("blocklist_remove", args=[entry.pk]), {"reason": ""}).status_code == 400
    removed = client.post(reverse("blocklist_remove", args=[entry.pk]), {"reason": "wrong person"})
    assert removed.status_code == 302
    entry.refresh_from_db()
    assert (entry.removed_by, entry.removed_reason) == (sam, "wrong person")
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="blocklist.").order_by("pk")] == [
        "blocklist.added",
        "blocklist.removed",
    ]
    assert "fraud ring 42" not in client.get(reverse("blocklist")).content.decode()
    assert "wrong person" in client.get(reverse("blocklist") + "?show=all").content.decode()


def test_operators_cannot_change_the_blocklist(client, role_user, pair):
    first, _ = pair
    login(client, role_user("operator", "olga"))
    assert client.post(reverse("blocklist_add", args=[first.public_id]), {"reason": "x"}).status_code == 403
    entry = faces.blocklist_add(case=first, actor=role_user("supervisor", "sam"), reason="fraud")
    assert client.post(reverse("blocklist_remove", args=[entry.pk]), {"reason": "x"}).status_code == 403
    assert client.get(reverse("blocklist")).status_code == 200  # but may see it
    entry.refresh_from_db()
    assert entry.is_active


def test_a_blocklisted_match_links_the_entry_on_the_case_page(client, role_user, scripted, fake_faces):
    sam = role_user("supervisor", "sam")
    listed = decided(scripted, fake_faces, vector(1), external_ref="a")
    entry = faces.blocklist_add(case=listed, actor=sam, reason="fraud")
    case = decided(scripted, fake_faces, near(vector(1)), external_ref="b")
    login(client, sam)
    html = client.get(reverse("case_detail", args=[case.public_id])).content.decode()
    assert "Blocklisted face:" in html
    assert f"#entry-{entry.pk}" in html
