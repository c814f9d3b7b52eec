"""Vendor adapter benchmarks, reported as ratios against a baseline measured in the same run.

    .venv/bin/python -m bench.vendors [--repeat N] [--json]

- accura fit: `fit_max_bytes` bringing a large stored image under Accura's 1 MB against one plain decode
  + JPEG encode of the same image, for a real 12 MP photo (one encode at the top quality fits) and for
  12 MP of noise (quality search, then downscales): what fitting costs.
- vendor round trip: the `accura_face` adapter through the one HTTP seam to the in-portal simulator
  (multipart upload, the simulator's own engine look, JSON back) against the `local` provider on the same
  image in-process: what talking HTTP to a vendor-shaped endpoint adds over the engine alone.
Nothing here asserts a time; compare ratios between commits.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import socketserver
import sys
import threading
from pathlib import Path

import django

from bench.common import print_rows

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from django.conf import settings  # noqa: E402
from django.core.servers.basehttp import WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from PIL import Image  # noqa: E402

from bench.run import synthetic_jpeg, timed  # noqa: E402
from liveness.intake import validate_image  # noqa: E402
from liveness.providers import CheckRequest, EvidenceImage, get_provider  # noqa: E402
from liveness.sandbox import judge  # noqa: E402
from liveness.sandbox.server import QuietVendorHeaderRequestHandler, VendorHeaderWSGIServer  # noqa: E402
from liveness.vendors.accura import ACCURA_MAX_UPLOAD_BYTES  # noqa: E402
from liveness.vendors.imaging import fit_max_bytes  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "genuine"
LARGE_PHOTO = SHARED / "deepface__tests_unit_dataset_img49.jpg"  # 4352x2903
FACE_PHOTO = SHARED / "deepface__tests_unit_dataset_img3.jpg"  # 1536x2048, frontal


def plain_reencode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.convert("RGB").save(io.BytesIO(), format="JPEG", quality=92)


def bench_accura_fit(repeat: int) -> list[dict[str, object]]:
    """A real 12 MP photo (fits at the top quality) and 12 MP of noise (needs the search and a downscale)."""
    sources = [synthetic_jpeg(4000, 3000)]
    if LARGE_PHOTO.is_file():
        sources.insert(0, LARGE_PHOTO.read_bytes())
    rows = []
    for source in sources:
        stored = validate_image(source).content  # what the adapter actually gets: intake's q95 re-encode
        prepared = fit_max_bytes(stored, "image/jpeg", max_bytes=ACCURA_MAX_UPLOAD_BYTES)
        baseline = timed(functools.partial(plain_reencode, stored), repeat)
        measured = timed(
            functools.partial(fit_max_bytes, stored, "image/jpeg", max_bytes=ACCURA_MAX_UPLOAD_BYTES), repeat
        )
        rows.append({
            "bench": f"accura fit {prepared.original_width}x{prepared.original_height} "
            f"{len(stored) // 1024} KiB -> {len(prepared.content) // 1024} KiB "
            f"({prepared.width}x{prepared.height} q{prepared.jpeg_quality})",
            "baseline_ms": round(baseline * 1000, 2), "measured_ms": round(measured * 1000, 2),
            "time_ratio": round(measured / baseline, 2),
        })  # fmt: skip
    return rows


class _ThreadedServer(socketserver.ThreadingMixIn, VendorHeaderWSGIServer):
    daemon_threads = True


def bench_round_trip(repeat: int) -> list[dict[str, object]]:
    if not FACE_PHOTO.is_file():
        return [{"bench": "vendor round trip", "skipped": f"no test image at {FACE_PHOTO}"}]
    httpd = _ThreadedServer(("127.0.0.1", 0), WSGIRequestHandler)
    httpd.RequestHandlerClass = QuietVendorHeaderRequestHandler
    httpd.set_app(get_wsgi_application())
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings.ACCURA_BASE_URL = f"http://127.0.0.1:{httpd.server_port}/sandbox/accura"
    settings.ACCURA_API_KEY = "bench-key"
    try:
        stored = validate_image(FACE_PHOTO.read_bytes())
        image = EvidenceImage("selfie", 0, stored.content, stored.content_type, stored.width, stored.height)
        request = CheckRequest(check_id=1, case_id="bench", kind="selfie", images=[image], threshold=0.55, timeout=30)
        local, accura = get_provider("local"), get_provider("accura_face")
        local.check(request)  # warm the models up
        accura.check(request)

        def vendor_cold() -> None:
            judge.clear_cache()  # the simulator looks at the image afresh, as a vendor would
            accura.check(request)

        baseline = timed(lambda: local.check(request), repeat)
        measured = timed(vendor_cold, repeat)
    finally:
        httpd.shutdown()
        httpd.server_close()
    return [{
        "bench": f"vendor round trip accura_face vs local ({stored.width}x{stored.height}, "
        f"{len(stored.content) // 1024} KiB stored)",
        "baseline_ms": round(baseline * 1000, 2), "measured_ms": round(measured * 1000, 2),
        "time_ratio": round(measured / baseline, 2),
    }]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = bench_accura_fit(args.repeat) + bench_round_trip(args.repeat)
    print_rows(rows, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
