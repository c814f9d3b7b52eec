"""The simulators' one error type: an input the vendor would refuse, with the status it would use."""

from __future__ import annotations


class Reject(Exception):
    """Answered with ``status`` and the vendor's own error body shape, never as a 500."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
