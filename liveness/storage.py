"""Evidence storage: images encrypted at rest with Fernet (AES-128-CBC + HMAC), keys rotatable.

The bytes are encrypted here, in the process, and only the ciphertext goes to the ``evidence`` storage
backend: local files (EVIDENCE_STORAGE=file, the default) or an S3-compatible object store
(EVIDENCE_STORAGE=s3, ``s3_evidence_storage``) that several hosts share. Keys come from
EVIDENCE_ENCRYPTION_KEYS, newest first: the first encrypts, every key decrypts, and
``manage.py rotate_evidence_key`` re-encrypts with the newest.

A store that cannot be reached or written (a full disk, an object store that is down or refuses our
credentials) raises StorageUnavailable: an outage (503, retried), never a verdict about the evidence.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages


class EvidenceUnavailable(Exception):
    """The evidence bytes are gone (purged) or cannot be decrypted with the configured keys."""


class StorageUnavailable(Exception):
    """The evidence store cannot be reached or written (disk full, permissions, object storage down): an
    outage, answered 503 and retried, never a verdict about the evidence."""


#: What an unreachable or refusing store raises: the file system's OSError, boto3's errors for S3 (a missing
#: object is not among them: both backends turn it into FileNotFoundError first).
_STORE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)


def s3_evidence_storage(
    *,
    bucket: str,
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
    prefix: str = "",
    addressing_style: str = "auto",
    timeout: float = 10.0,
) -> dict[str, Any]:
    """The STORAGES entry of an S3-compatible evidence store (django-storages' S3Storage).

    Empty values are "not given": boto3's own chain (AWS_* variables, an instance role) then applies.
    ``addressing_style`` "path" suits servers without virtual-host bucket names (MinIO, moto).
    """
    given = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "region_name": region,
        "access_key": access_key,
        "secret_key": secret_key,
        "location": prefix,  # a key prefix inside the bucket, when the bucket is shared
    }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **{name: value for name, value in given.items() if value},
            # Object names are 128 random bits (put): no existence check before each write.
            "file_overwrite": True,
            # Evidence is served only through the console's audited view, never by a signed URL.
            "querystring_auth": False,
            "default_acl": None,
            # An unreachable store is an outage answered in seconds, not after boto3's default minutes.
            "client_config": BotoConfig(
                s3={"addressing_style": addressing_style},
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        },
    }


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
    except _STORE_ERRORS as exc:
        raise StorageUnavailable(f"the evidence store cannot be written ({type(exc).__name__})") from exc


def get(key: str) -> bytes:
    storage = evidence_storage()
    try:
        with storage.open(key, "rb") as handle:
            token = handle.read()
    except FileNotFoundError as exc:
        raise EvidenceUnavailable(f"evidence {key} is not in storage") from exc
    except _STORE_ERRORS as exc:
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
