"""Vendor adapters, one module per vendor, all through the one HTTP seam (``liveness.providers.http``).

Importing this package registers ``accura_face``, ``accura_id``, ``kairos`` and ``riset``.
"""

from . import accura, kairos, riset  # noqa: F401  (registers the vendor providers)
