"""The Django settings ``bench.load`` runs the portal with: the dev settings (simulators on), DEBUG
off (no query log growing in memory), and one extra view, the intake baseline (bench.load_urls).

The baseline is what a submission must cost: read the upload, check its bounds from the header, decode it
fully once (proof that it is an image), and one INSERT. ``POST /api/v1/cases/`` is measured against it.
"""

from kyc_portal.settings.dev import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.load_urls"
