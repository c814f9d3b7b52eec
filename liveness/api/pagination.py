"""Cursor pagination: stable under inserts (new cases do not shift pages), opaque ``cursor`` tokens."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class OldestFirstCursorPagination(NewestFirstCursorPagination):
    ordering = ("created_at", "id")
