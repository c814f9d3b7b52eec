"""Request parsers with a size limit checked before the body is read.

DRF reads JSON bodies from the raw stream, which Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not guard,
and Django streams multipart files to disk whatever their size. Both are bounded here, from the
Content-Length when given and while reading otherwise. (A reverse proxy should cap bodies as well.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any, cast

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser

from .exceptions import PayloadTooLarge


def json_body_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def multipart_body_limit() -> int:
    # Every image at its maximum (a selfie, a document, all frames) plus the form fields.
    return int(settings.INTAKE_MAX_BYTES) * (int(settings.INTAKE_MAX_FRAMES) + 2) + int(
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )


def _declared_length(parser_context: Mapping[str, Any] | None) -> int | None:
    request = (parser_context or {}).get("request")
    raw = request.META.get("CONTENT_LENGTH") if request is not None else None
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


class _BoundedStream:
    def __init__(self, stream: Any, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.seen = 0

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self.stream.read(self.limit + 1 - self.seen if size < 0 else size)
        self.seen += len(chunk)
        if self.seen > self.limit:
            raise PayloadTooLarge(f"the request body is over the limit of {self.limit} bytes")
        return chunk


class LimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = json_body_limit()
        declared = _declared_length(parser_context)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"the request body ({declared} bytes) is over the limit of {limit} bytes")
        try:
            return super().parse(cast(IO[Any], _BoundedStream(stream, limit)), media_type, parser_context)
        except RecursionError:
            # json nests by recursion: a body of a few thousand "[" would otherwise be a 500.
            raise ParseError("JSON parse error - the document is nested too deeply") from None


class LimitedMultiPartParser(MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = multipart_body_limit()
        declared = _declared_length(parser_context)
        if declared is None or declared > limit:
            raise PayloadTooLarge(
                f"multipart uploads need a Content-Length of at most {limit} bytes"
                if declared is None
                else f"the request body ({declared} bytes) is over the limit of {limit} bytes"
            )
        return super().parse(stream, media_type, parser_context)
