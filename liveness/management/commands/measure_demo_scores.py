"""Regenerate the demo history's score table: the local engine's selfie score of each labelled image.

Runs the engine (with the passive models configured in LOCAL_ENGINE_PASSIVE_MODELS) over a labelled
folder (``../shared/testdata`` by default) and writes, per label, the scores it gave, rounded to three
decimals, plus how many images of that label it could not score. Only numbers are written, never images
or file names: the table is committed (liveness/demo/engine_scores.json) and ``seed_demo`` draws from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.demo.history import SCORE_TABLE
from liveness.engine.evaluation import EvaluationInputError, analyse_folder
from liveness.engine.models import EngineConfigurationError

DEFAULT_FOLDER = Path(settings.BASE_DIR).parent / "shared" / "testdata"


class Command(BaseCommand):
    help = "Measure the local engine's selfie scores per label on a labelled folder and write the demo score table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="folder with labels.csv")
        parser.add_argument("--output", default=str(SCORE_TABLE), help=f"JSON file to write (default {SCORE_TABLE})")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["folder"])
        if not folder.is_dir():
            raise CommandError(f"no such folder: {folder}")
        if not settings.LOCAL_ENGINE_PASSIVE_MODELS:
            raise CommandError("LOCAL_ENGINE_PASSIVE_MODELS is empty: without a passive model no selfie is scored")
        try:
            results, models = analyse_folder(folder, max_side=settings.LOCAL_ENGINE_DETECT_MAX_SIDE, synthetic=False)
        except (EvaluationInputError, EngineConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        labels: dict[str, dict[str, Any]] = {}
        for result in results:
            entry = labels.setdefault(result.item.kind, {"scores": [], "unscored": 0})
            if result.score is None:
                entry["unscored"] += 1
            else:
                entry["scores"].append(round(float(result.score), 3))
        for entry in labels.values():
            entry["scores"].sort()
        table = {
            "about": "Local-engine selfie scores per label of shared/testdata (numbers only); regenerate with "
            "`manage.py measure_demo_scores`. Used by seed_demo to draw a demo history.",
            "passive_models": models,
            "labels": dict(sorted(labels.items())),
        }
        Path(options["output"]).write_text(json.dumps(table, indent=1) + "\n")
        counts = ", ".join(f"{k}: {len(v['scores'])} scored, {v['unscored']} not" for k, v in sorted(labels.items()))
        self.stdout.write(f"wrote {options['output']} ({counts})")
