"""The README's first command: it serves a login page and the decided demo case; Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        match = re.search(r"^PPid:\s+(\d+)$", text, re.M)
        if match and int(match.group(1)) == pid:
            found.add(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not read its status yet.
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_dev_start_serves_login_and_the_decided_demo_case(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("needs .venv (created by `python3 dev.py test`, which runs this suite)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST_"))}
    env.update(KYC_VAR_DIR=str(tmp_path), PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "dev.py", "start", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + 600
        password = None
        while time.monotonic() < deadline and password is None:
            assert proc.poll() is None, "dev.py start exited early:\n" + "".join(lines[-80:])
            for line in list(lines):
                match = re.search(r"demo login: user=demo-operator password=(\S+)", line)
                if match:
                    password = match.group(1)
            time.sleep(0.5)
        assert password, "no demo login printed:\n" + "".join(lines[-80:])
        base = f"http://127.0.0.1:{port}"

        login = requests.get(f"{base}/login/", timeout=10)
        assert login.status_code == 200
        assert "password" in login.text.lower()

        db = tmp_path / "portal.sqlite3"
        row = None
        while time.monotonic() < deadline:
            with sqlite3.connect(db, timeout=30) as conn:
                row = conn.execute("SELECT public_id, status, auto_verdict FROM liveness_case").fetchone()
            if row and row[1] in ("decided", "needs_review"):
                break
            time.sleep(0.5)
        assert row, "no demo case was created:\n" + "".join(lines[-60:])
        assert row[1] in ("decided", "needs_review"), f"demo case not decided: {row}\n" + "".join(lines[-60:])
        public_id = f"{row[0][:8]}-{row[0][8:12]}-{row[0][12:16]}-{row[0][16:20]}-{row[0][20:]}"

        session = requests.Session()
        session.get(f"{base}/login/", timeout=10)
        response = session.post(
            f"{base}/login/",
            data={"username": "demo-operator", "password": password,
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{base}/login/"}, timeout=10,
        )  # fmt: skip
        assert response.status_code == 200
        assert "/login/" not in response.url
        page = session.get(f"{base}/cases/{public_id}/", timeout=10)
        assert page.status_code == 200
        assert public_id in page.text

        children = children_of(proc.pid)
        assert len(children) >= 3  # the web server and the two worker pools (I/O threads, CPU prefork)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert proc.wait(timeout=60) == 0
    time.sleep(1)
    assert not [pid for pid in children if alive(pid)], "processes left running after Ctrl-C"
