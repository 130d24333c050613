"""URLs of the pages, namespaced ``configs:``."""

from django.urls import path, re_path

from configs_app import views

app_name = "configs"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("configs/", views.ConfigListView.as_view(), name="list"),
    re_path(r"^configs/export\.(?P<fmt>csv|json|xlsx)$", views.ConfigListView.as_view(), name="export"),
    path("configs/columns/", views.table_columns_save, name="table-columns"),
    path("configs/refresh/<int:pk>/", views.config_refresh, name="refresh"),
    # The name is last and may hold any character, "/" included (<path:>), so nothing may follow it.
    path("configs/<str:source>/<str:config_type>/<path:config_name>/", views.ConfigDetailView.as_view(), name="detail"),
    path("compare/", views.compare, name="compare"),
    path("sync-runs/", views.SyncRunListView.as_view(), name="sync-runs"),
    path("sync-runs/start/", views.sync_start, name="sync-start"),
]
