"""Check one image file with any registered provider, synchronously, and print the result as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness import policy
from liveness.intake import ImageRejected, validate_image
from liveness.providers import CheckRequest, EvidenceImage, ProviderError, UnknownProvider, get_provider, provider_keys
from liveness.services.providers import provider_config

ROLE_FOR_KIND = {"selfie": "selfie", "id_document": "id_front"}


class Command(BaseCommand):
    help = "Check one image with a provider (default: local) and print the normalised result as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the image file (JPEG or PNG)")
        parser.add_argument("--provider", default="local", help=f"one of: {', '.join(provider_keys())}")
        parser.add_argument("--kind", choices=sorted(ROLE_FOR_KIND), default="selfie")
        parser.add_argument("--country-code", default="", help="ID documents: the country code")
        parser.add_argument("--card-code", default="", help="ID documents: the card code")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            provider = get_provider(options["provider"])
        except UnknownProvider:
            raise CommandError(
                f"unknown provider {options['provider']!r}; registered: {', '.join(provider_keys())}"
            ) from None
        kind = options["kind"]
        if not provider.supports(kind):
            raise CommandError(f"provider {provider.key} does not check {kind} images")
        problem = provider.configuration_problem()
        if problem:
            raise CommandError(f"provider {provider.key} is not usable: {problem}")
        try:
            image = validate_image(path.read_bytes(), label=path.name)
        except ImageRejected as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        config = provider_config(provider.key)
        request = CheckRequest(
            check_id=0,
            case_id="check_image",
            kind=kind,
            images=[
                EvidenceImage(
                    role=ROLE_FOR_KIND[kind],
                    index=0,
                    content=image.content,
                    content_type=image.content_type,
                    width=image.width,
                    height=image.height,
                )
            ],
            threshold=config.threshold,
            timeout=config.timeout_seconds,
            country_code=options["country_code"],
            card_code=options["card_code"],
        )
        try:
            result = provider.check(request)
        except ProviderError as exc:
            self.stdout.write(
                json.dumps(
                    {"provider": provider.key, "error": exc.code, "message": exc.message, "retryable": exc.retryable},
                    indent=2,
                )
            )
            raise CommandError(f"provider {provider.key} failed: {exc.message}") from exc
        assessment = policy.assess(
            score=result.score,
            threshold=config.threshold,
            margin=config.review_margin,
            findings=[finding.code for finding in result.findings],
            reported_threshold=result.threshold,
        )
        payload = {
            "provider": provider.key,
            "file": str(path),
            "kind": kind,
            "sha256": image.sha256,
            "score": result.score,
            "threshold": assessment.threshold,
            "review_margin": config.review_margin,
            "passed": assessment.passed,
            "outcome": assessment.outcome,
            "findings": [finding.as_dict() for finding in result.findings],
            "vendor_label": result.vendor_label,
            "reason": result.reason,
            "latency_ms": result.latency_ms,
            "vendor_request_id": result.vendor_request_id,
            "details": result.details,
        }
        self.stdout.write(json.dumps(payload, indent=2, default=str))
