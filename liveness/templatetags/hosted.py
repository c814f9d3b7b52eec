"""``{% session_panel case %}``: the hosted verification sessions of a case on its console page."""

from __future__ import annotations

from typing import Any

from django import template

from ..console.session_panel import session_panel_context

register = template.Library()


@register.inclusion_tag("console/_session_panel.html", takes_context=True)
def session_panel(context: template.Context, case: Any) -> dict[str, Any]:
    return session_panel_context(context.get("request"), case)
