#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11: make .venv, install, then start or test.

    python3 dev.py start [--port 8000]   web + two Celery pools (I/O threads with beat, CPU prefork) on the
                                         embedded defaults
    python3 dev.py test [pytest args]    install the test tools and run the suite
    python3 dev.py lint                  ruff + mypy

It lives at the top level because it must run before Django (or anything else) is installed.
Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"


def log(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def ensure_venv(requirements: str) -> None:
    """Create .venv and install ``requirements`` unless the same file set is already installed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs under whatever python3 the user has
        sys.exit("Python 3.11 or newer is needed (found {}.{})".format(*sys.version_info[:2]))
    if not VENV_PY.exists():
        log(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{Path(requirements).stem}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    log(f"installing {requirements} (first run takes a few minutes)")
    subprocess.run(
        [str(VENV_PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(ROOT / requirements)],
        check=True,
        cwd=ROOT,
    )
    stamp.write_text(digest.hexdigest())
    if requirements != "requirements.txt":
        # The dev file includes the runtime one (-r requirements.txt): that set is installed too.
        runtime = hashlib.sha256((ROOT / "requirements.txt").read_bytes() * 2).hexdigest()
        (VENV / ".installed-requirements").write_text(runtime)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(VENV_PY), "manage.py", *args], check=True, cwd=ROOT, env=env)


def wait_for_http(url: str, *, timeout: float, procs: list[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own localhost URL
                if response.status < 500:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    # SIGTERM to each leader: Celery then finishes its running tasks (warm shutdown) and stops its pool.
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 20
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"process {proc.pid} did not stop in time; killing its process group")
        # Whatever is left of the group (a stuck pool child) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def cmd_start(args: argparse.Namespace) -> int:
    ensure_venv("requirements.txt")
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.dev")
    env.setdefault("SANDBOX_BASE_URL", f"http://127.0.0.1:{args.port}/sandbox")
    env["PYTHONUNBUFFERED"] = "1"
    manage("migrate", "--noinput", "-v", "0", env=env)
    password = secrets.token_urlsafe(12)
    manage("seed_demo", "--password", password, env=env)

    procs: list[subprocess.Popen[bytes]] = []

    def spawn(*command: str) -> None:
        # Each child leads its own process group so that stopping it stops its own children too.
        procs.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True))

    # runserver_sandbox = runserver, except that Kairos' documented app_id / app_key headers reach its simulator.
    spawn(str(VENV_PY), "manage.py", "runserver_sandbox", f"127.0.0.1:{args.port}", "--noreload", "--skip-checks")
    # Two kinds of work, two pools (liveness.enqueue): vendor checks and webhooks wait on the network (threads,
    # many at once); local-engine checks and the face step spend CPU (prefork, one process per core).
    io_queue = env.get("CELERY_TASK_DEFAULT_QUEUE", "kyc-portal")
    cpu_queue = env.get("CELERY_CPU_QUEUE", f"{io_queue}-cpu")
    spawn(
        str(VENV_PY), "-m", "celery", "-A", "kyc_portal", "worker", "--beat", "--loglevel", "INFO",
        "-Q", io_queue, "--pool", "threads", "--concurrency", str(args.io_concurrency), "-n", "io@%h",
        "--schedule", str(ROOT / "var" / "celerybeat-schedule"),
    )  # fmt: skip
    spawn(
        str(VENV_PY), "-m", "celery", "-A", "kyc_portal", "worker", "--loglevel", "INFO",
        "-Q", cpu_queue, "--pool", "prefork", "--concurrency", str(args.concurrency), "-n", "cpu@%h",
    )  # fmt: skip

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not wait_for_http(f"http://127.0.0.1:{args.port}/login/", timeout=60, procs=procs):
            log("the web server did not come up; stopping")
            return 1
        log(f"portal ready: http://127.0.0.1:{args.port}/")
        log(f"demo login: user=demo-operator password={password}")
        log(f"demo supervisor: user=demo-supervisor password={password}")
        log(f"demo admin (partners' webhooks, Django admin): user=demo-admin password={password}")
        demo = subprocess.run(
            [str(VENV_PY), "manage.py", "demo_session", "--base-url", f"http://localhost:{args.port}"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if demo.returncode == 0:
            # localhost is a secure context: the camera works in this machine's own browser.
            log(f"demo hosted verification (open in this machine's browser): {demo.stdout.strip()}")
        log("Ctrl-C stops the web server and the workers")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        log("a process exited; stopping the others")
        return 1
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        stop_all(procs)


def cmd_test(args: argparse.Namespace) -> int:
    ensure_venv("requirements-dev.txt")
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # pytest's config picks the test settings
    result = subprocess.run([str(VENV_PY), "-m", "pytest", *args.pytest_args], cwd=ROOT, env=env, check=False)
    return result.returncode


def cmd_lint(_args: argparse.Namespace) -> int:
    ensure_venv("requirements-dev.txt")
    bin_dir = VENV / "bin"
    ruff = subprocess.run([str(bin_dir / "ruff"), "check", "."], cwd=ROOT, check=False).returncode
    fmt = subprocess.run([str(bin_dir / "ruff"), "format", "--check", "."], cwd=ROOT, check=False).returncode
    mypy = subprocess.run([str(bin_dir / "mypy"), "."], cwd=ROOT, check=False).returncode
    return 1 if (ruff or fmt or mypy) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="install and start the portal")
    start.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    start.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="CPU pool processes (default: one per core)"
    )
    start.add_argument("--io-concurrency", type=int, default=20, help="I/O pool threads (vendor calls, webhooks)")
    start.set_defaults(func=cmd_start)
    test = sub.add_parser("test", help="install and run the tests")
    # Everything after "test" goes to pytest as it is (options included): see main().
    test.set_defaults(func=cmd_test)
    lint = sub.add_parser("lint", help="ruff and mypy")
    lint.set_defaults(func=cmd_lint)
    args, extra = parser.parse_known_args()
    if args.command != "test" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
