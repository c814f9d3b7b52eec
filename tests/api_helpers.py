"""Helpers for the API and webhook tests: partners with keys, clients, submissions, a webhook receiver."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw
from rest_framework.test import APIClient

from liveness.models import Partner
from liveness.providers import ProviderResult
from liveness.services.api_keys import api_key_create

CASES_URL = "/api/v1/cases/"
PROBLEM = "application/problem+json"


def make_partner(**fields: Any) -> Partner:
    slug = fields.pop("slug", None) or f"partner-{Partner.objects.count() + 1}"
    return Partner.objects.create(
        name=fields.pop("name", slug.title()),
        slug=slug,
        webhook_secret=fields.pop("webhook_secret", "whsec_test-secret-0123456789"),
        **fields,
    )


def partner_key(partner: Partner, name: str = "test key") -> str:
    return api_key_create(name=name, partner=partner).secret


def user_key(user: User, name: str = "operator token") -> str:
    return api_key_create(name=name, user=user).secret


def client_for(key: str | None = None) -> APIClient:
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def jpeg(shade: int = 0, *, size: tuple[int, int] = (320, 240)) -> bytes:
    """A valid JPEG whose bytes differ for every shade."""
    image = Image.new("RGB", size, ((shade * 53) % 256, (shade * 97 + 60) % 256, 140))
    ImageDraw.Draw(image).rectangle((10 + shade % 50, 10, 120, 100), fill=(255 - (shade * 31) % 256, 30, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def live_result(score: float = 0.92) -> ProviderResult:
    return ProviderResult(score=score, vendor_label="live")


def spoof_result(score: float = 0.05) -> ProviderResult:
    return ProviderResult(score=score, vendor_label="spoof")


def submission(kind: str, encoding: str, **extra: Any) -> tuple[dict[str, Any], str]:
    """A valid submission of ``kind`` as (data, format) for APIClient.post."""

    def image(shade: int, name: str) -> Any:
        raw = jpeg(shade)
        return SimpleUploadedFile(name, raw, content_type="image/jpeg") if encoding == "multipart" else b64(raw)

    data: dict[str, Any] = {"kind": kind, "external_ref": f"{kind}-ref"}
    if kind == "selfie":
        data["selfie"] = image(1, "selfie.jpg")
    elif kind == "id_document":
        data.update(id_front=image(2, "id.jpg"), selfie=image(3, "selfie.jpg"), country_code="de", card_code="ID")
    else:
        data.update(
            frames=[image(4, "f0.jpg"), image(5, "f1.jpg"), image(6, "f2.jpg")],
            face_parameters=["front", "left", "eyes closed"],
        )
    data.update(extra)
    return data, encoding


# --- a real HTTP receiver for webhooks ------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP server on 127.0.0.1 that records every POST and answers from a script.

    Each script item is a status code, or ("sleep", seconds, status) to answer late.
    """

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: deque[Any] = field(default_factory=deque)
    default_status: int = 200

    def answer(self) -> tuple[float, int]:
        item = self.script.popleft() if self.script else self.default_status
        if isinstance(item, tuple):
            return float(item[1]), int(item[2])
        return 0.0, int(item)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                delay, status = receiver.answer()
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answered {status}".encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/kyc"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
