"""Schemathesis with every check it has, against the served OpenAPI schema, in process.

`tests/test_api_schema.py` fuzzes with the five response checks; this runs every registered check
(schemathesis' `--checks all`): also negative data rejection, positive data acceptance, missing required
header, unsupported method, Allow header conformance, ignored auth, and the stateful ones where they apply.
Every failure is collected (not only the first), so one run reports all that disagree.

Bounded: `KYC_FUZZ_EXAMPLES` examples per strategy (default 12, about a minute). The long run:
    KYC_FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/test_schemathesis.py -q -p no:cacheprovider
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import given
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from tests.test_api_schema import (  # noqa: F401 - fixtures (pytest finds them by name here)
    SCHEMA_URL,
    fuzz_plan,
    fuzz_world,
    reproducible_examples,
    wsgi_keeps_the_test_connection,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("KYC_FUZZ_EXAMPLES", "12"))

# What the intake says of bytes that are not an acceptable image (liveness/intake.py, ImageRejected codes).
IMAGE_REFUSALS = {
    (422, code)
    for code in ("empty", "too_large", "too_many_pixels", "not_an_image", "animated", "corrupt", "too_small",
                 "unsupported_format", "decompression_amplification", "incomplete_image")
}  # fmt: skip

# Schema-valid requests the server may still refuse, by rule the OpenAPI document cannot state (each rule is
# in the operation's description): (method, path) -> {(status, problem code)}. Anything else refused is a failure.
RULES_THE_SCHEMA_CANNOT_STATE: dict[tuple[str, str], set[tuple]] = {
    # Which image fields a kind takes (selfie / id_document / active frames, and one face parameter per frame:
    # `length_mismatch`),
    # whether the bytes are an image; a multipart field sent twice is refused (the schema cannot say "at most
    # once" of a form field).
    # A per-case callback_url needs the partner's permission (a setting, not the request's shape); the
    # country and card codes belong to ID-document cases only.
    ("POST", "/api/v1/cases/"): {
        (400, "wrong_images"),
        (400, "required"),
        (400, "repeated_field"),
        (400, "callback_override_not_allowed"),
        (400, "not_allowed"),
        (400, "length_mismatch"),
        *IMAGE_REFUSALS,
    },
    # A resubmission answers what the case asked for: its own images and parameters (state, not shape); a
    # multipart field sent twice is refused, the schema cannot say "at most once" of a form field.
    ("POST", "/api/v1/cases/{public_id}/resubmit/"): {
        (400, "wrong_images"),
        (400, "invalid"),
        (400, "required"),
        (400, "repeated_field"),
        (400, "length_mismatch"),
        *IMAGE_REFUSALS,
    },
    # The case version is named in the body (expected_version) or in If-Match: one of the two, a rule across
    # a header and the body that OpenAPI 3.0 cannot express.
    ("POST", "/api/v1/operator/cases/{public_id}/decisions/"): {
        (428, "precondition_required"),
        (400, "invalid", "expected_version"),
    },
    # The period's start is not after its end; `provider` is one of the providers this deployment registers.
    ("GET", "/api/v1/supervisor/accuracy/"): {
        (400, "validation_error", "non_field_errors"),
        (400, "validation_error", "provider"),
    },
    # `kind` is required unless `case_id` is given; `country_code` belongs to id_document sessions only; the
    # redirect URL is an http(s) URL on a host the partner's settings allow.
    ("POST", "/api/v1/verification-sessions/"): {
        (400, "required"),
        (400, "not_allowed"),
        (400, "redirect_url_not_allowed"),
    },
}


def every_check() -> list:
    load_all_checks()
    return [check for check in CHECKS.get_all() if callable(check) and not isinstance(check, type)]


def test_every_schemathesis_check_passes_on_every_operation(fuzz_world, wsgi_keeps_the_test_connection):  # noqa: F811
    checks = every_check()
    names = {check.__name__ for check in checks}
    # `--checks all`: the response checks and the ones that send more requests of their own.
    assert {"negative_data_rejection", "positive_data_acceptance", "ignored_auth", "unsupported_method",
            "missing_required_header", "allow_header_conformance"} <= names  # fmt: skip
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, app)
    # Unknown query parameters are ignored, as HTTP APIs customarily do (and documented in the API section);
    # schemathesis would otherwise count every ignored one as "schema-violating request accepted".
    schema.config.generation.update(allow_extra_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == 16
    config = reproducible_examples(EXAMPLES)
    failures: dict[str, str] = {}
    calls = 0
    for operation in operations:
        headers, strategies = fuzz_plan(operation, fuzz_world)
        for strategy in strategies:
            calls += fuzz(strategy, headers, checks, config, failures)
    assert calls > len(operations) * 2
    assert not failures, "\n\n".join(f"{label}\n{detail}" for label, detail in failures.items())


def fuzz(strategy, headers: dict[str, str], checks: list, config, failures: dict[str, str]) -> int:
    """Run every check on each generated case; record each (operation, kind of failure) once. Returns calls."""
    calls = 0

    @given(case=strategy)
    @config
    def run(case) -> None:
        nonlocal calls
        calls += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (AssertionError, FailureGroup) as error:
            for failure in getattr(error, "exceptions", [error]):
                title = getattr(failure, "title", type(failure).__name__)
                method, path = case.operation.method.upper(), case.operation.path
                if title == "Schema-valid request rejected" and refused_by_rule(method, path, response):
                    continue
                answer = f"{response.status_code} {response.text[:300]}"
                failures.setdefault(
                    f"{method} {path}: {title}", f"{failure}\n{case.as_curl_command(headers)}\n-> {answer}"
                )

    run()
    return calls


def refused_by_rule(method: str, path: str, response) -> bool:
    """The refusal is one of the operation's listed rules: (status, code), or (status, code, field in errors)."""
    try:
        body = response.json()
    except ValueError:
        return False
    fields = set(body.get("errors") or {})
    for rule in RULES_THE_SCHEMA_CANNOT_STATE.get((method, path), set()):
        if (response.status_code, body.get("code")) == rule[:2] and (len(rule) == 2 or rule[2] in fields):
            return True
    return False
