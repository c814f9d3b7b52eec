"""A recording hook so contract tests can assert the exact request an adapter sent.

Nothing is recorded unless a test opens :func:`recording`; then every request a simulator receives is
kept in memory (never logged, never written): path, headers, form fields, and per image its name, type,
byte size and pixel size instead of the bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedImage:
    field: str
    filename: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    format: str | None


@dataclass
class RecordedRequest:
    vendor: str
    method: str
    path: str
    content_type: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    files: list[RecordedImage] = field(default_factory=list)
    json_body: dict[str, Any] | None = None  # with every image replaced by a RecordedImage
    status: int | None = None
    response: Any = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


_lock = threading.Lock()
_active: list[list[RecordedRequest]] = []


def is_recording() -> bool:
    return bool(_active)


def record(entry: RecordedRequest) -> None:
    with _lock:
        for sink in _active:
            sink.append(entry)


@contextmanager
def recording() -> Iterator[list[RecordedRequest]]:
    """Collect the requests the simulators receive while the block runs."""
    sink: list[RecordedRequest] = []
    with _lock:
        _active.append(sink)
    try:
        yield sink
    finally:
        with _lock:
            _active.remove(sink)
