"""A real S3-protocol server for the evidence-store tests: moto's standalone server, started once per test
session in its own process on a free local port (nothing leaves the machine), and a fixture that points the
``evidence`` storage at a fresh bucket on it for one test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from liveness.storage import s3_evidence_storage

REGION = "us-east-1"
# moto accepts any credentials; real ones never reach a test.
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the moto server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the moto server did not listen on port {port} within {seconds} s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server running in a child process for the whole session."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@dataclass(frozen=True)
class S3Evidence:
    endpoint: str
    bucket: str
    prefix: str
    client: Any

    def object_names(self) -> list[str]:
        """Every object in the bucket, whatever the prefix (the store's own listdir sees only its prefix)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def raw(self, name: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        return data


def point_evidence_at(settings: Any, endpoint: str, bucket: str, *, prefix: str = "", timeout: float = 10.0) -> None:
    """The ``evidence`` storage of this test is ``bucket`` on the S3 server at ``endpoint``."""
    storage = s3_evidence_storage(
        bucket=bucket,
        endpoint_url=endpoint,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        prefix=prefix,
        addressing_style="path",
        timeout=timeout,
    )
    settings.STORAGES = {**settings.STORAGES, "evidence": storage}


def use_s3_evidence(settings: Any, endpoint: str, *, prefix: str = "") -> S3Evidence:
    """Point the ``evidence`` storage at a new, empty bucket on ``endpoint``."""
    bucket = f"evidence-{uuid.uuid4().hex[:16]}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    point_evidence_at(settings, endpoint, bucket, prefix=prefix)
    return S3Evidence(endpoint=endpoint, bucket=bucket, prefix=prefix, client=client)


def manage_py(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` in a separate process with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def s3_evidence(settings: Any, s3_server: str, _isolated_evidence_storage: None) -> S3Evidence:
    """This test's evidence store is a fresh bucket on the moto server."""
    return use_s3_evidence(settings, s3_server)
