"""Cursor pagination: stable under inserts (new cases do not shift pages), opaque ``cursor`` tokens."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        """``page_size`` is an integer from 1 to ``max_page_size``; anything else is a 400 naming it (DRF
        would quietly fall back to the default, so ``page_size=null`` looked accepted)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"an integer from 1 to {self.max_page_size}, not {raw[:20]!r}"]},
                code="invalid",
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters


class OldestFirstCursorPagination(NewestFirstCursorPagination):
    ordering = ("created_at", "id")
