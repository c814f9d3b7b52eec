"""Evidence storage: images encrypted at rest with Fernet (AES-128-CBC + HMAC), keys rotatable.

The bytes go to the ``evidence`` storage backend (local files by default; any Django storage, e.g.
object storage, in production). Keys come from EVIDENCE_ENCRYPTION_KEYS, newest first: the first
encrypts, every key decrypts, and ``manage.py rotate_evidence_key`` re-encrypts with the newest.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages


class EvidenceUnavailable(Exception):
    """The evidence bytes are gone (purged) or cannot be decrypted with the configured keys."""


class StorageUnavailable(Exception):
    """The evidence store cannot be reached or written (disk full, permissions, object storage down): an
    outage, answered 503 and retried, never a verdict about the evidence."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("EVIDENCE_ENCRYPTION_KEYS is empty: evidence cannot be encrypted")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.EVIDENCE_ENCRYPTION_KEYS))


def evidence_storage() -> Storage:
    return storages["evidence"]


def put(content: bytes, *, prefix: str) -> str:
    """Encrypt and store; return the storage key."""
    name = f"{prefix}/{secrets.token_hex(16)}.bin"
    try:
        return evidence_storage().save(name, ContentFile(fernet().encrypt(content)))
    except OSError as exc:
        raise StorageUnavailable(f"the evidence store cannot be written ({type(exc).__name__})") from exc


def get(key: str) -> bytes:
    storage = evidence_storage()
    try:
        with storage.open(key, "rb") as handle:
            token = handle.read()
    except FileNotFoundError as exc:
        raise EvidenceUnavailable(f"evidence {key} is not in storage") from exc
    except OSError as exc:
        raise StorageUnavailable(f"the evidence store cannot be read ({type(exc).__name__})") from exc
    try:
        return fernet().decrypt(token)
    except InvalidToken as exc:
        raise EvidenceUnavailable(f"evidence {key} cannot be decrypted with the configured keys") from exc


def delete(key: str) -> None:
    storage = evidence_storage()
    if key and storage.exists(key):
        storage.delete(key)


def is_current(key: str) -> bool:
    """True when the stored object is encrypted with the newest key."""
    with evidence_storage().open(key, "rb") as handle:
        token = handle.read()
    try:
        Fernet(settings.EVIDENCE_ENCRYPTION_KEYS[0].encode()).decrypt(token)
    except InvalidToken:
        return False
    return True


def rotate(key: str, *, prefix: str) -> str:
    """Re-encrypt one stored object with the newest key under a new name; return the new key.

    The old object is left in place: the caller points the database at the new key first and deletes
    the old one after, so a crash in between never loses the only copy.
    """
    with evidence_storage().open(key, "rb") as handle:
        token = handle.read()
    return evidence_storage().save(f"{prefix}/{secrets.token_hex(16)}.bin", ContentFile(fernet().rotate(token)))
