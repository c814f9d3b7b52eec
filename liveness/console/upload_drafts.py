"""Files chosen on the console's upload form, kept across a validation error.

A browser never lets a page re-fill a file input, so after "the card code is missing" the operator would
have to find every image again. Instead each file that passed its own checks is kept server-side for the
form's lifetime: encrypted and stored like evidence (``liveness.storage.put``: Fernet under the evidence
keys, in the evidence store, under ``upload-drafts/``), and listed in the operator's session by field
(original name, size, storage key; never the bytes). The next POST of the form uses a kept file for every
field the operator left empty, unless they ticked "remove".

A kept file is deleted when the case is created, when it is replaced or removed, when the form is opened
afresh (a GET), and at the latest ``UPLOAD_DRAFT_MAX_MINUTES`` after it was stored
(``purge_upload_drafts``, hourly), whatever happened to the session.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.http import HttpRequest
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from .. import storage

SESSION_KEY = "upload_kept"
PREFIX = "upload-drafts"


@dataclass(frozen=True)
class KeptFile:
    field: str
    name: str
    size: int
    content_type: str
    key: str


def kept_files(request: HttpRequest) -> dict[str, KeptFile]:
    raw: dict[str, dict[str, Any]] = request.session.get(SESSION_KEY, {})
    return {field: KeptFile(**entry) for field, entry in raw.items()}


def _save(request: HttpRequest, kept: dict[str, KeptFile]) -> None:
    request.session[SESSION_KEY] = {field: asdict(entry) for field, entry in kept.items()}


def _delete(entry: KeptFile) -> None:
    with contextlib.suppress(storage.StorageUnavailable, OSError):  # already gone, or the purge takes it
        storage.delete(entry.key)


def discard_all(request: HttpRequest) -> None:
    for entry in kept_files(request).values():
        _delete(entry)
    request.session.pop(SESSION_KEY, None)


def with_kept(request: HttpRequest, file_fields: list[str]) -> tuple[MultiValueDict[str, UploadedFile], list[str]]:
    """The POST's files plus a kept file for each field left empty (and not marked ``remove_<field>``).

    Returns the files and the fields whose kept file could not be read back (expired or purged): the
    form says so on those fields.
    """
    files: MultiValueDict[str, UploadedFile] = MultiValueDict()
    for name in request.FILES:
        files.setlist(name, request.FILES.getlist(name))
    kept = kept_files(request)
    lost: list[str] = []
    for field, entry in list(kept.items()):
        if field not in file_fields:
            continue
        if field in files or request.POST.get(f"remove_{field}"):
            _delete(entry)  # replaced by a new choice, or removed
            del kept[field]
            continue
        try:
            data = storage.get(entry.key)
        except (storage.EvidenceUnavailable, storage.StorageUnavailable):
            del kept[field]
            lost.append(field)
            continue
        files[field] = SimpleUploadedFile(entry.name, data, content_type=entry.content_type)
    _save(request, kept)
    return files, lost


def keep_valid(request: HttpRequest, files: MultiValueDict[str, UploadedFile], errors: set[str]) -> None:
    """After a refused POST: keep each file that passed its own checks; forget those that did not."""
    kept = kept_files(request)
    for field in files:
        upload: UploadedFile = files[field]  # type: ignore[assignment]
        previous = kept.pop(field, None)
        if field in errors:
            if previous is not None:
                _delete(previous)
            continue
        if previous is not None and previous.name == upload.name and previous.size == upload.size:
            kept[field] = previous  # the kept file itself came back: nothing to store again
            continue
        if previous is not None:
            _delete(previous)
        upload.seek(0)
        key = storage.put(upload.read(), prefix=PREFIX)
        kept[field] = KeptFile(
            field=field,
            name=(upload.name or field)[:200],
            size=upload.size or 0,
            content_type=upload.content_type or "application/octet-stream",
            key=key,
        )
    _save(request, kept)


def purge_stale(*, now: Any = None) -> int:
    """Delete kept files older than UPLOAD_DRAFT_MAX_MINUTES from the store; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.UPLOAD_DRAFT_MAX_MINUTES)
    store = storage.evidence_storage()
    try:
        _, names = store.listdir(PREFIX)
    except (FileNotFoundError, NotImplementedError):
        return 0
    purged = 0
    for name in names:
        key = f"{PREFIX}/{name}"
        try:
            if store.get_modified_time(key) < cutoff:
                store.delete(key)
                purged += 1
        except (FileNotFoundError, NotImplementedError):
            continue
    return purged
