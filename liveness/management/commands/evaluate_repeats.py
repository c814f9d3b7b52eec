"""Measure the repeat-face search on a labelled image folder (the labels.csv format of shared/testdata)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from PIL import UnidentifiedImageError

from liveness.engine.analysis import analyze_image
from liveness.engine.evaluation import EvaluationInputError, read_labels
from liveness.engine.match import DECISION_DISTANCE
from liveness.engine.models import EngineConfigurationError, load_models
from liveness.engine.repeat_evaluation import Sample, evaluate_repeats, format_reports


def person_of(label: str, person_id: str, file: str) -> str | None:
    """Identity for the search: genuine images by person_id (a "(unknown)" id is one unnamed person);
    every ID-document specimen its own person; spoof samples unknown (they may show a genuine person)."""
    if label == "genuine":
        return person_id or f"file:{file}"
    if label == "id-document":
        return f"document:{file}"
    return None


class Command(BaseCommand):
    help = (
        "Search every genuine image of FOLDER (images + labels.csv) against every other image with a face, "
        "as the repeat-face search does, and print the recall (is the same person's other image found) and the "
        "false matches (is anyone else flagged) at the decision distance and nearby distances."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="a folder with labels.csv (columns file,label,person_id[,notes])")
        parser.add_argument(
            "--distance",
            type=float,
            action="append",
            help=f"distance(s) to report (default: {DECISION_DISTANCE}, then 0.5, 0.55, 0.65)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["folder"])
        if not folder.is_dir():
            raise CommandError(f"no such folder: {folder}")
        distances = options["distance"] or [DECISION_DISTANCE, 0.5, 0.55, 0.65]
        if any(not 0 < d < 2 for d in distances):
            raise CommandError("--distance must be between 0 and 2 (descriptor distances)")
        try:
            items = read_labels(folder)
            load_models()
        except (EvaluationInputError, EngineConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        samples = []
        for item in items:
            if item.label not in ("genuine", "id-document") and not item.label.startswith("spoof"):
                continue  # multi-face photos: which face is "the" face is not labelled
            path = folder / item.file
            try:
                analysis = analyze_image(
                    path.read_bytes(),
                    max_side=settings.LOCAL_ENGINE_DETECT_MAX_SIDE,
                    with_passive=False,
                    with_descriptor=True,
                )
                descriptor = analysis.descriptor
            except (OSError, UnidentifiedImageError, ValueError):
                descriptor = None
            samples.append(Sample(item.file, item.label, person_of(item.label, item.person_id, item.file), descriptor))
        reports = [evaluate_repeats(samples, distance=d) for d in distances]
        if options["json"]:
            self.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2))
        else:
            self.stdout.write(format_reports(reports))
