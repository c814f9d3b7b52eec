"""Django system checks of the portal's own settings (``manage.py check``, runserver, migrate, and production
start-up through kyc_portal/settings/production.py, which calls the same functions).

- liveness.E001: EVIDENCE_ENCRYPTION_KEYS must be a non-empty list of valid Fernet keys (32 url-safe base64
  bytes each): a malformed key would otherwise be found by the first upload, which then fails.
- liveness.E002: FINDING_VERDICTS may only name known findings and the verdicts "spoof" or "needs_review".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .vocabulary import FINDINGS

FINDING_VERDICT_CHOICES = ("spoof", "needs_review")


def encryption_key_problems(keys: Sequence[str]) -> list[str]:
    """What is wrong with the keys, without ever repeating a key (they are secrets)."""
    if not keys:
        return ["EVIDENCE_ENCRYPTION_KEYS is empty: evidence cannot be encrypted"]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.strip().encode())
        except (ValueError, TypeError):
            problems.append(
                f"EVIDENCE_ENCRYPTION_KEYS key #{position} of {len(keys)} is not a Fernet key (32 url-safe "
                "base64-encoded bytes; make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
    return problems


def finding_verdict_problems(verdicts: Mapping[str, str]) -> list[str]:
    problems = []
    for code, verdict in verdicts.items():
        if code not in FINDINGS:
            problems.append(f"FINDING_VERDICTS names an unknown finding {code!r}; known: {', '.join(FINDINGS)}")
        elif verdict not in FINDING_VERDICT_CHOICES:
            problems.append(
                f"FINDING_VERDICTS[{code!r}] is {verdict!r}; "
                f"a finding leads to one of {', '.join(FINDING_VERDICT_CHOICES)}"
            )
    return problems


@register()
def portal_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = [
        Error(problem, id="liveness.E001") for problem in encryption_key_problems(settings.EVIDENCE_ENCRYPTION_KEYS)
    ]
    messages += [Error(problem, id="liveness.E002") for problem in finding_verdict_problems(settings.FINDING_VERDICTS)]
    return messages
