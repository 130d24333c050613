"""URL configuration. Every page needs a login (LoginRequiredMiddleware); the few that must not
(login itself, the health check) are marked with ``login_not_required``."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("configs_app.urls")),
]
