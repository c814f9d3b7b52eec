"""A logging filter that removes hosted-verification link tokens from log lines.

The token is in the page's path (``/v/<token>/…``), and Django logs paths: ``django.request`` on every
4xx/5xx, ``django.server`` (runserver) on every request. The token is a credential, so it never reaches
a log: the filter sits on the console handler and rewrites ``/v/<token>`` to ``/v/[token]``. (Put the same
rule in the reverse proxy's and gunicorn's access logs in production.)
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"/v/[A-Za-z0-9_\-]{16,}")


class RedactHostedTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        if "/v/" in message:
            record.msg = TOKEN_IN_PATH.sub("/v/[token]", message)
            record.args = None
        return True
