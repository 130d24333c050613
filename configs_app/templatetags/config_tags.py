"""Formatting helpers of the pages: masking free text, small server-rendered SVG charts.

Charts are SVG drawn from presentation attributes (``width``, ``height``, ``x``, ``y``), which the
Content Security Policy allows, unlike ``style=`` attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template

from configs_app.masking import mask_text
from configs_app.selectors import CountRow

register = template.Library()

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 180
CHART_WIDTH = 600


@register.filter
def masked(value: Any) -> str:
    """Free text with credentials replaced (``masking.mask_text``); autoescaping still applies."""
    return mask_text("" if value is None else str(value))


@register.inclusion_tag("configs_app/includes/_bar_chart.html")
def bar_chart(rows: Sequence[CountRow], title: str, chart_id: str) -> dict[str, Any]:
    """A horizontal bar chart of ``rows`` (label, count), bars scaled to the largest count."""
    top = max((r.count for r in rows), default=0) or 1
    bar_space = CHART_WIDTH - LABEL_WIDTH - 60
    bars = [
        {
            "label": r.label,
            "count": r.count,
            "y": i * (BAR_HEIGHT + BAR_GAP),
            "text_y": i * (BAR_HEIGHT + BAR_GAP) + BAR_HEIGHT * 0.7,
            "width": max(1, round(bar_space * r.count / top)) if r.count else 0,
            "value_x": LABEL_WIDTH + (round(bar_space * r.count / top) if r.count else 0) + 6,
        }
        for i, r in enumerate(rows)
    ]
    return {
        "bars": bars,
        "title": title,
        "chart_id": chart_id,
        "height": max(1, len(rows)) * (BAR_HEIGHT + BAR_GAP),
        "width": CHART_WIDTH,
        "label_width": LABEL_WIDTH,
        "label_x": LABEL_WIDTH - 8,
        "bar_height": BAR_HEIGHT,
    }


@register.inclusion_tag("configs_app/includes/_month_chart.html")
def month_chart(rows: Sequence[CountRow], title: str, chart_id: str) -> dict[str, Any]:
    """A vertical bar chart of counts per month (oldest left), labelled every few months."""
    width, height, base = 1000, 170, 140
    top = max((r.count for r in rows), default=0) or 1
    step = width / max(1, len(rows))
    every = max(1, -(-len(rows) // 12))  # at most about 12 labels
    bars = []
    for i, r in enumerate(rows):
        h = round((base - 10) * r.count / top) if r.count else 0
        bars.append(
            {
                "label": r.label,
                "count": r.count,
                "x": round(i * step + 2, 1),
                "y": base - h,
                "width": round(max(2, step - 4), 1),
                "height": h,
                "show_label": i % every == 0,
                "label_x": round(i * step + step / 2, 1),
            }
        )
    return {"bars": bars, "title": title, "chart_id": chart_id, "width": width, "height": height, "label_y": base + 20}
