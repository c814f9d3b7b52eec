"""Helpers for the hosted-verification tests: create a session over the API, drive the applicant's page."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from liveness.models import Partner
from liveness.services.sessions import CONSENT_VERSION
from tests.api_helpers import client_for, jpeg, make_partner, partner_key

SESSIONS_URL = "/api/v1/verification-sessions/"


def new_partner(**fields: Any) -> tuple[Partner, Any]:
    partner = make_partner(**fields)
    return partner, client_for(partner_key(partner))


def create_session(api: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("kind", "active")
    response = api.post(SESSIONS_URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class Applicant:
    """The applicant's browser, as the page's script talks to the server."""

    def __init__(self, url: str) -> None:
        self.base = "/v/" + token_of(url) + "/"
        self.client = Client(REMOTE_ADDR="203.0.113.9")
        self.shade = 10

    def open(self) -> Any:
        return self.client.get(self.base)

    def consent(self, version: str = CONSENT_VERSION) -> Any:
        return self.client.post(self.base + "consent", {"version": version})

    def start(self) -> Any:
        return self.client.post(self.base + "start")

    def frame(self, prompt: int, burst: int, data: bytes | None = None) -> Any:
        self.shade += 1
        image = SimpleUploadedFile("f.jpg", data if data is not None else jpeg(self.shade), content_type="image/jpeg")
        return self.client.post(
            self.base + "frames", {"prompt": prompt, "burst": burst, "captured_at": "1764322000000", "image": image}
        )

    def document(self, data: bytes | None = None) -> Any:
        image = SimpleUploadedFile("d.jpg", data if data is not None else jpeg(99), content_type="image/jpeg")
        return self.client.post(self.base + "document", {"image": image})

    def submit(self) -> Any:
        return self.client.post(self.base + "submit")

    def answer_all(self, prompts: int, burst: int) -> None:
        for prompt in range(prompts):
            for index in range(burst):
                response = self.frame(prompt, index)
                assert response.status_code == 200, response.content
