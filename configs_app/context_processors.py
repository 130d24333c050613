"""Template context shared by every page: the freshness of the cache per source."""

from __future__ import annotations


def freshness(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    from configs_app.selectors import sync_status

    return {"sync_status": sync_status()}
