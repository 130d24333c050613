"""URLs of the page benchmark: the dashboard's own, plus the two pages it is measured against.

* ``/bench/floor/``: a bare view behind the same middleware and the same login that returns
  static HTML of a given size (``FLOOR_BYTES``, set by the benchmark to the size of the table
  page). No permission check, no template, no query of its own: what Django costs for an
  authenticated page before the application does anything.
* ``/bench-admin/``: a Django admin site with the configs model registered plainly, its
  ``search_fields`` over the columns the quick search covers: what a user gets by just registering
  the model. Its changelist shows the same columns and the same number of rows as the table page.
"""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from configs_app.models import TrainingJobConfig

#: Size in bytes of the floor page; the benchmark sets it to the table page's size.
FLOOR_BYTES = 40_000
#: Rows per page of the admin changelist: the table page's size in the benchmark.
ADMIN_PER_PAGE = 25


def floor(request):
    body = b"<!doctype html><title>floor</title>" + b"x" * max(0, FLOOR_BYTES - 35)
    return HttpResponse(body, content_type="text/html; charset=utf-8")


class PlainConfigAdmin(admin.ModelAdmin):
    """The configs model as a developer would register it for browsing and search."""

    list_display = (
        "config_name",
        "config_desc",
        "config_type",
        "engine_name",
        "spec_code",
        "worker_server_num",
        "dataset_name",
        "user_image_url",
        "source",
        "create_time",
        "last_changed_at",
    )
    search_fields = (
        "config_name",
        "config_desc",
        "engine_name",
        "engine_version",
        "user_image_url",
        "user_command",
        "app_url",
        "boot_file_url",
        "data_url",
        "train_url",
        "log_url",
        "dataset_name",
        "spec_code",
        "pool_name",
        "parameter_rows__label",
        "parameter_rows__value",
    )

    list_per_page = ADMIN_PER_PAGE


bench_admin = admin.AdminSite(name="benchadmin")
bench_admin.register(TrainingJobConfig, PlainConfigAdmin)

urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("bench-admin/", bench_admin.urls),
    path("", include("dashboard.urls")),
]
