"""Django admin: sources are edited here; the cache (configs, parameters, revisions, sync runs) is
read-only because only ``configs_app.sync`` writes it."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from configs_app.masking import MASK
from configs_app.models import (
    ConfigParameter,
    ConfigRevision,
    ConfigSource,
    SyncRun,
    TablePreference,
    TrainingJobConfig,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows rows; nobody adds, changes or deletes them here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ConfigSource)
class ConfigSourceAdmin(admin.ModelAdmin):
    """Sources are configuration: editable. Credentials are named by variable, never stored."""

    list_display = ("name", "endpoint", "region", "project_id", "auth_mode", "enabled", "from_environment")
    list_filter = ("enabled", "auth_mode", "from_environment")
    search_fields = ("name", "endpoint", "project_id")
    readonly_fields = ("from_environment", "created_at")
    # Endpoints are https unless typed otherwise (the simulator's http://127.0.0.1:... included).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class ConfigParameterInline(admin.TabularInline):
    model = ConfigParameter
    fields = ("position", "label", "shown_value", "is_secret")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="value")
    def shown_value(self, obj: ConfigParameter) -> str:
        return MASK if obj.is_secret else obj.value


@admin.register(TrainingJobConfig)
class TrainingJobConfigAdmin(ReadOnlyAdmin):
    list_display = (
        "config_name",
        "source",
        "config_type",
        "engine_name",
        "engine_version",
        "spec_code",
        "worker_server_num",
        "create_time",
        "last_changed_at",
        "deleted_upstream_at",
    )
    list_filter = ("source", "config_type", "is_custom_image", "engine_name")
    list_select_related = ("source",)
    search_fields = ("config_name",)
    date_hierarchy = "create_time"
    # Free text, raw payloads and parameters may hold secrets. The admin shows what identifies a
    # config; its dashboard page shows everything, masked.
    fields = (
        "source",
        "config_type",
        "config_name",
        "dashboard_page",
        "engine_name",
        "engine_version",
        "spec_code",
        "worker_server_num",
        "create_time",
        "first_seen_at",
        "last_synced_at",
        "last_changed_at",
        "deleted_upstream_at",
        "content_hash",
    )
    readonly_fields = fields
    inlines = [ConfigParameterInline]
    show_full_result_count = False

    @admin.display(description="dashboard page")
    def dashboard_page(self, obj: TrainingJobConfig) -> str:
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), "Open (all fields, secrets masked)")


@admin.register(ConfigParameter)
class ConfigParameterAdmin(ReadOnlyAdmin):
    list_display = ("config", "position", "label", "shown_value", "is_secret")
    list_filter = ("is_secret",)
    list_select_related = ("config",)
    search_fields = ("label",)
    exclude = ("value",)
    readonly_fields = ("shown_value",)

    @admin.display(description="value")
    def shown_value(self, obj: ConfigParameter) -> str:
        return MASK if obj.is_secret else obj.value


@admin.register(ConfigRevision)
class ConfigRevisionAdmin(ReadOnlyAdmin):
    list_display = ("config", "kind", "observed_at", "sync_run")
    list_filter = ("kind",)
    list_select_related = ("config", "sync_run__source")
    # Payloads and diffs carry unmasked parameter values; the config's page shows them masked.
    exclude = ("payload", "previous_payload", "diff")
    date_hierarchy = "observed_at"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "source",
        "trigger",
        "config_type",
        "status",
        "started_at",
        "finished_at",
        "listed",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "restored",
        "failed",
    )
    list_filter = ("status", "source", "trigger")
    list_select_related = ("source",)
    date_hierarchy = "started_at"


@admin.register(TablePreference)
class TablePreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "table_name", "updated_at")
    list_select_related = ("user",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super(ReadOnlyAdmin, self).has_delete_permission(request, obj)
