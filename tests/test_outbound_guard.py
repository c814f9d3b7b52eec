"""The one outbound seam's address guard: the peer of the connection actually opened must be public."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from liveness import outbound
from liveness.outbound import BlockedAddress, OutboundRequest, is_public


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 that accepts and closes: enough to complete a connect."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("fe80::1%eth0", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool):
    assert is_public(address) is public


def test_a_public_only_send_refuses_a_loopback_peer_before_sending(listener: int):
    with pytest.raises(BlockedAddress) as blocked:
        outbound.send(
            OutboundRequest("POST", f"http://127.0.0.1:{listener}/hook", data=b"{}"), timeout=2, public_only=True
        )
    assert "127.0.0.1" in blocked.value.message
    assert blocked.value.code == "blocked_address"


def test_dns_rebinding_is_caught_on_the_connection_not_the_earlier_lookup(listener: int, monkeypatch, settings):
    """The name resolves to a public address when checked and to loopback when connected."""
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    from liveness.services.webhooks import webhook_url_problem

    assert webhook_url_problem(f"https://rebind.example:{listener}/hook") == ""  # the check saw a public address
    with pytest.raises(BlockedAddress):
        outbound.send(
            OutboundRequest("POST", f"https://rebind.example:{listener}/hook", data=b"{}"), timeout=2, public_only=True
        )


def test_without_the_guard_loopback_is_reachable(listener: int):
    # Vendor calls and the sandbox on this machine use the unguarded session: the listener closes at once.
    with pytest.raises(outbound.OutboundConnectionError):
        outbound.send(OutboundRequest("GET", f"http://127.0.0.1:{listener}/"), timeout=2)


@pytest.mark.django_db
def test_a_webhook_to_a_rebound_address_fails_its_attempt_with_the_reason(listener: int, monkeypatch, settings):
    from liveness.models import WebhookDelivery
    from liveness.services.webhooks import webhook_deliver
    from tests.test_webhooks import queued

    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        return real("127.0.0.1" if host == "rebind.example" else host, port, *args, **kwargs)

    from tests.api_helpers import make_partner

    partner = make_partner(slug="rebinder", webhook_url=f"https://rebind.example:{listener}/hook")
    delivery = queued(partner)
    monkeypatch.setattr("liveness.services.webhooks.webhook_url_problem", lambda url, **kw: "")
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    webhook_deliver(delivery_id=delivery.pk)
    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert "blocked_address" in delivery.last_error
