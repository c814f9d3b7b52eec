"""Settings: production refuses to start without secrets and passes Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "EVIDENCE_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "kyc_portal.settings.production",
        "SECRET_KEY": Fernet.generate_key().decode() * 2,
        "EVIDENCE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "kyc.example.com",
        "KYC_VAR_DIR": str(tmp_path),
    }


def test_production_settings_pass_check_deploy_without_warnings(tmp_path: Path) -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_evidence_keys(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["EVIDENCE_ENCRYPTION_KEYS"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "EVIDENCE_ENCRYPTION_KEYS" in result.stderr


def test_production_never_serves_the_sandbox_by_default(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SANDBOX_ENABLED, settings.DEBUG)"
    result = run_manage("shell", "-c", code, **production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]


def test_production_refuses_to_start_with_a_malformed_evidence_key_and_never_prints_it(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    good = env["EVIDENCE_ENCRYPTION_KEYS"]
    env["EVIDENCE_ENCRYPTION_KEYS"] = f"{good},not-a-fernet-key-but-a-secret"
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "key #2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-fernet-key-but-a-secret" not in result.stderr + result.stdout
    assert good not in result.stderr + result.stdout


def test_the_system_checks_report_bad_keys_and_finding_verdicts(settings) -> None:
    from liveness.system_checks import portal_settings_check

    settings.EVIDENCE_ENCRYPTION_KEYS = ["short"]
    settings.FINDING_VERDICTS = {"face_mismatch": "live", "made_up": "spoof"}
    messages = portal_settings_check()
    assert [m.id for m in messages] == ["liveness.E001", "liveness.E002", "liveness.E002"]
    assert "face_mismatch" in messages[1].msg
    assert "made_up" in messages[2].msg
    settings.EVIDENCE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.FINDING_VERDICTS = {"face_mismatch": "spoof"}
    assert portal_settings_check() == []


def test_a_pooled_process_drops_persistent_connections_from_the_database_url(tmp_path: Path) -> None:
    """Web hosts keep their connection (``conn_max_age`` in DATABASE_URL); a process with DATABASE_POOL_MAX_SIZE
    uses the pool instead, which Django refuses to combine with persistent connections."""
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], 'pool' in d.get('OPTIONS', {}))"
    )
    url = "postgres://postgres@127.0.0.1:5432/unused?conn_max_age=60&conn_health_checks=true"
    env = {**production_env(tmp_path), "DATABASE_URL": url}
    persistent = run_manage("shell", "-c", code, **env)
    assert persistent.returncode == 0, persistent.stderr
    assert persistent.stdout.split()[-2:] == ["60", "False"]
    pooled = run_manage("shell", "-c", code, **env, DATABASE_POOL_MAX_SIZE="20")
    assert pooled.returncode == 0, pooled.stderr
    assert pooled.stdout.split()[-2:] == ["0", "True"]
