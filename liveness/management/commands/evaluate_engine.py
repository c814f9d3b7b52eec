"""Measure the local engine on a labelled image folder (the labels.csv format of shared/testdata)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.engine.evaluation import EvaluationInputError, ImageResult, evaluate_folder, format_report
from liveness.engine.models import EngineConfigurationError


class Command(BaseCommand):
    help = (
        "Run the local engine over FOLDER (images + labels.csv) and print the detection rate, face-match EER "
        "and the distance at EER, passive attack scores per label and per-image latency p50/p95."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="a folder with labels.csv (columns file,label,person_id[,notes])")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        parser.add_argument(
            "--max-side",
            type=int,
            default=None,
            help="detect on a copy downscaled to this side (default: LOCAL_ENGINE_DETECT_MAX_SIDE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["folder"])
        if not folder.is_dir():
            raise CommandError(f"no such folder: {folder}")
        if options["max_side"] is not None and options["max_side"] < 1:
            raise CommandError(f"--max-side must be a positive number of pixels, not {options['max_side']}")
        max_side = options["max_side"] or settings.LOCAL_ENGINE_DETECT_MAX_SIDE
        as_json = options["json"]

        def progress(result: ImageResult) -> None:
            if not as_json and options["verbosity"] >= 2:
                self.stderr.write(f"{result.item.file}: {result.face_count} face(s), {result.latency_ms:.0f} ms")

        try:
            report = evaluate_folder(folder, max_side=max_side, progress=progress)
        except (EvaluationInputError, EngineConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report, indent=2) if as_json else format_report(report))
