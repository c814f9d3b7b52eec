"""Measure the local engine on a labelled image folder (the labels.csv format of shared/testdata)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.engine.evaluation import (
    EvaluationInputError,
    ImageResult,
    analyse_folder,
    build_report,
    format_report,
    pad_scores,
    plot_report,
)
from liveness.engine.models import EngineConfigurationError
from liveness.providers.local import LocalEngineProvider


class Command(BaseCommand):
    help = (
        "Run the local engine over FOLDER (images + labels.csv) and print the detection rate, face-match EER "
        "and the distance at EER, APCER per attack type and BPCER (ISO/IEC 30107-3) at the threshold and where "
        "BPCER is 5 %, document portraits found, active parameters right/wrong/undecided, synthetic pose checks "
        "and per-image latency p50/p95."
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
        parser.add_argument(
            "--threshold",
            type=float,
            default=LocalEngineProvider.default_threshold,
            help=f"threshold for APCER/BPCER (default: the local engine's, {LocalEngineProvider.default_threshold})",
        )
        parser.add_argument("--plot", metavar="FILE.png", help="draw the DET curve and the score histograms (PNG)")
        parser.add_argument("--no-synthetic", action="store_true", help="skip the mirror/rotation pose checks (faster)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["folder"])
        if not folder.is_dir():
            raise CommandError(f"no such folder: {folder}")
        if options["max_side"] is not None and options["max_side"] < 1:
            raise CommandError(f"--max-side must be a positive number of pixels, not {options['max_side']}")
        max_side = options["max_side"] or settings.LOCAL_ENGINE_DETECT_MAX_SIDE
        threshold = options["threshold"]
        if not 0.0 <= threshold <= 1.0:
            raise CommandError(f"--threshold must be within 0..1, not {threshold}")
        plot = Path(options["plot"]) if options["plot"] else None
        if plot is not None and (plot.suffix.lower() != ".png" or not plot.parent.is_dir()):
            raise CommandError(f"--plot needs a .png file in an existing folder, not {plot}")
        as_json = options["json"]

        def progress(result: ImageResult) -> None:
            if not as_json and options["verbosity"] >= 2:
                self.stderr.write(f"{result.item.file}: {result.face_count} face(s), {result.latency_ms:.0f} ms")

        try:
            results, passive_models = analyse_folder(
                folder, max_side=max_side, progress=progress, synthetic=not options["no_synthetic"]
            )
        except (EvaluationInputError, EngineConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        report = build_report(results, passive_models=passive_models, max_side=max_side, threshold=threshold)
        if plot is not None:
            plot_report(report, pad_scores(results), plot)
            report["plot"] = str(plot)
        self.stdout.write(json.dumps(report, indent=2) if as_json else format_report(report))
        if plot is not None and not as_json:
            self.stdout.write(f"plot: {plot}")
