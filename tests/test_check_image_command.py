"""manage.py check_image: one image, one provider, JSON out; clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from liveness.providers import ProviderResult, RetryableProviderError
from tests.helpers import LIVE_SAMPLE, TWO_PEOPLE, image_bytes, require_testdata

pytestmark = pytest.mark.django_db


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> dict:
    call_command("check_image", *args)
    return json.loads(capsys.readouterr().out)


def test_it_prints_the_normalised_result_of_any_provider(scripted, tmp_path: Path, capsys):
    path = tmp_path / "selfie.png"
    path.write_bytes(image_bytes(200, 200, fmt="PNG"))
    scripted.script.append(ProviderResult(score=0.42, vendor_label="LIVE?", details={"faces": []}))
    out = run(str(path), "--provider", "scripted", capsys=capsys)
    assert out["provider"] == "scripted"
    assert out["score"] == 0.42
    assert (out["threshold"], out["passed"], out["outcome"]) == (0.5, False, "borderline")
    assert scripted.requests[0].images[0].content_type == "image/png"


def test_it_runs_the_local_engine_on_a_real_face(tmp_path: Path, capsys):
    path = require_testdata() / LIVE_SAMPLE
    out = run(str(path), capsys=capsys)
    assert out["provider"] == "local"
    image = out["details"]["images"][0]
    assert image["face_count"] == 1
    assert image["main_face"]["box"]["right"] > image["main_face"]["box"]["left"]


def test_it_reports_more_than_one_face(capsys):
    out = run(str(require_testdata() / TWO_PEOPLE), capsys=capsys)
    assert out["score"] is None
    assert "multiple_faces" in out["reason"]


def test_a_missing_file_is_a_clear_error():
    with pytest.raises(CommandError, match="no such file"):
        call_command("check_image", "/nonexistent/selfie.jpg")


def test_a_non_image_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "selfie.jpg"
    path.write_text("hello")
    with pytest.raises(CommandError, match="not a readable image"):
        call_command("check_image", str(path))


def test_an_unknown_provider_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "s.jpg"
    path.write_bytes(image_bytes())
    with pytest.raises(CommandError, match="unknown provider 'nope'"):
        call_command("check_image", str(path), "--provider", "nope")


def test_a_provider_failure_exits_non_zero(scripted, tmp_path: Path, capsys):
    path = tmp_path / "s.jpg"
    path.write_bytes(image_bytes())
    scripted.script.append(RetryableProviderError("timed out", code="timeout"))
    with pytest.raises(CommandError, match="timed out"):
        call_command("check_image", str(path), "--provider", "scripted")
    assert json.loads(capsys.readouterr().out)["error"] == "timeout"
