"""The cache of ModelArts training job configs: the product's memory and, since the console that
owned these legacy objects is retired, their system of record.

Only ``configs_app.sync`` writes configs, parameters, revisions and sync runs. Nothing here makes a
network call.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class ConfigSource(models.Model):
    """One ModelArts project that configs are read from.

    The source described by the ``MODELARTS_*`` environment variables is created automatically
    (``from_environment=True``) and its settings come from the environment on every use. Other
    sources are added in the Django admin; their secrets are *named* here by environment variable
    (``sk_env="TEAM_B_SK"``) and read from the process environment when a client is built, so no
    credential is ever stored in the database.
    """

    class AuthMode(models.TextChoices):
        AKSK = "aksk", "AK/SK request signing"
        PASSWORD = "password", "IAM user password token"
        TOKEN = "token", "Static IAM token"

    name = models.SlugField(max_length=64, unique=True)
    endpoint = models.URLField(max_length=255, blank=True, help_text="e.g. https://modelarts.cn-north-4.myhuaweicloud.com")
    region = models.CharField(max_length=64, blank=True)
    project_id = models.CharField(max_length=64, blank=True)
    auth_mode = models.CharField(max_length=16, choices=AuthMode.choices, default=AuthMode.TOKEN)
    iam_endpoint = models.URLField(max_length=255, blank=True, help_text="Password mode: e.g. https://iam.cn-north-4.myhuaweicloud.com")
    username = models.CharField(max_length=128, blank=True, help_text="Password mode: the IAM user name.")
    domain = models.CharField(max_length=128, blank=True, help_text="Password mode: the account (domain) name.")
    ak_env = models.CharField("AK variable", max_length=128, blank=True, help_text="Name of the environment variable holding the AK.")
    sk_env = models.CharField("SK variable", max_length=128, blank=True, help_text="Name of the environment variable holding the SK.")
    password_env = models.CharField("password variable", max_length=128, blank=True)
    token_env = models.CharField("token variable", max_length=128, blank=True)
    from_environment = models.BooleanField(
        default=False, editable=False, help_text="Described by the MODELARTS_* environment variables."
    )
    enabled = models.BooleanField(default=True, help_text="Disabled sources keep their cache but are not synced.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainingJobConfig(models.Model):
    """One training job parameter configuration, as last read from ModelArts.

    Every documented detail field is a column; ``raw`` holds the whole detail payload (undocumented
    keys included). Parameters are kept both as JSON (``parameters``, in API order) and as
    ``ConfigParameter`` rows for filtering. Rows are never deleted by a sync: a config missing
    from a complete listing gets ``deleted_upstream_at`` and keeps its history.

    ``last_synced_at`` is the last time a sync wrote this row (created, changed, deleted or
    restored). An unchanged config writes nothing, so how fresh an unchanged row is comes from its
    source's last successful sync run (see ``selectors.sync_status``).
    """

    class ConfigType(models.TextChoices):
        CUSTOM = "custom", "Custom"
        SAMPLE = "sample", "Sample"

    source = models.ForeignKey(ConfigSource, on_delete=models.PROTECT, related_name="configs")
    config_type = models.CharField(max_length=8, choices=ConfigType.choices, default=ConfigType.CUSTOM)
    config_name = models.CharField(max_length=128)
    config_desc = models.TextField(blank=True, default="")
    create_time = models.DateTimeField(null=True, blank=True)
    worker_server_num = models.IntegerField(null=True, blank=True)
    app_url = models.TextField(blank=True, default="")
    boot_file_url = models.TextField(blank=True, default="")
    model_id = models.BigIntegerField(null=True, blank=True)
    spec_id = models.BigIntegerField(null=True, blank=True)
    spec_code = models.CharField(max_length=128, blank=True, default="")
    gpu_type = models.CharField(max_length=64, blank=True, default="")
    gpu_num = models.IntegerField(null=True, blank=True)
    cpu = models.CharField(max_length=32, blank=True, default="")
    core = models.CharField(max_length=32, blank=True, default="")
    data_url = models.TextField(blank=True, default="")
    dataset_id = models.CharField(max_length=128, blank=True, default="")
    dataset_version_id = models.CharField(max_length=128, blank=True, default="")
    dataset_name = models.CharField(max_length=255, blank=True, default="")
    dataset_version_name = models.CharField(max_length=255, blank=True, default="")
    data_source = models.JSONField(default=list, blank=True)
    engine_type = models.IntegerField(null=True, blank=True)
    engine_name = models.CharField(max_length=128, blank=True, default="")
    engine_id = models.BigIntegerField(null=True, blank=True)
    engine_version = models.CharField(max_length=128, blank=True, default="")
    train_url = models.TextField(blank=True, default="")
    log_url = models.TextField(blank=True, default="")
    user_image_url = models.TextField(blank=True, default="")
    user_command = models.TextField(blank=True, default="")
    pool_id = models.CharField(max_length=128, blank=True, default="")
    pool_name = models.CharField(max_length=255, blank=True, default="")
    volumes = models.JSONField(default=list, blank=True)
    nas_mount_path = models.CharField(max_length=1024, blank=True, default="")
    nas_share_addr = models.CharField(max_length=1024, blank=True, default="")
    nas_type = models.CharField(max_length=32, blank=True, default="")
    parameters = models.JSONField(default=list, blank=True, help_text="[{label, value}] in API order, values as text.")
    raw = models.JSONField(default=dict, blank=True, help_text="The whole detail payload as ModelArts returned it.")
    is_custom_image = models.BooleanField(default=False, help_text="Runs a user image (user_image_url set).")
    search_text = models.TextField(
        blank=True,
        default="",
        editable=False,
        help_text="Lower-cased text the quick search matches; secret values are left out.",
    )
    content_hash = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(default=timezone.now)
    last_changed_at = models.DateTimeField(default=timezone.now)
    deleted_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["config_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "config_type", "config_name"], name="uniq_config_per_source_type"),
        ]
        indexes = [
            models.Index(fields=["config_name", "id"], name="cfg_name_idx"),
            models.Index(fields=["create_time", "id"], name="cfg_create_idx"),
            models.Index(fields=["last_changed_at", "id"], name="cfg_changed_idx"),
            models.Index(fields=["engine_name", "engine_version"], name="cfg_engine_idx"),
            models.Index(fields=["spec_code"], name="cfg_spec_code_idx"),
            models.Index(fields=["spec_id"], name="cfg_spec_id_idx"),
            models.Index(fields=["worker_server_num"], name="cfg_workers_idx"),
            models.Index(fields=["dataset_name"], name="cfg_dataset_idx"),
            models.Index(fields=["config_type"], name="cfg_type_idx"),
            # Only the few deleted rows: an index over every row's NULL made databases without
            # statistics (SQLite) read all active rows through it and sort them, for every page.
            models.Index(
                fields=["deleted_upstream_at"],
                name="cfg_deleted_only_idx",
                condition=Q(deleted_upstream_at__isnull=False),
            ),
            models.Index(fields=["is_custom_image"], name="cfg_custom_image_idx"),
            # The table's default view (active configs) in each indexable sort order, so a page,
            # even the last of 100,000 rows, is read in order from one index (TextField sorts and
            # the source name are left out: a long value would not fit a PostgreSQL index entry).
            *(
                models.Index(
                    fields=[*columns, "id"],
                    name=f"cfg_active_{name}_idx",
                    condition=Q(deleted_upstream_at__isnull=True),
                )
                for name, columns in (
                    ("name", ["config_name"]),
                    ("type", ["config_type"]),
                    ("engine", ["engine_name", "engine_version"]),
                    ("spec", ["spec_code", "spec_id"]),
                    ("workers", ["worker_server_num"]),
                    ("created", ["create_time"]),
                    ("changed", ["last_changed_at"]),
                )
            ),
        ]

    def __str__(self) -> str:
        return self.config_name

    def get_absolute_url(self) -> str:
        return reverse(
            "configs:detail",
            kwargs={"source": self.source.name, "config_type": self.config_type, "config_name": self.config_name},
        )

    @property
    def is_deleted_upstream(self) -> bool:
        return self.deleted_upstream_at is not None


class ConfigParameter(models.Model):
    """One ``parameter[]`` entry of a config, as a row so users can filter by label and value.

    ``is_secret`` is decided by ``configs_app.masking`` when the row is written; secret values are
    stored (the cache is the system of record) but never rendered, exported or searched.
    """

    config = models.ForeignKey(TrainingJobConfig, on_delete=models.CASCADE, related_name="parameter_rows")
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=255)
    value = models.TextField(blank=True, default="")
    is_secret = models.BooleanField(default=False)

    class Meta:
        ordering = ["config", "position"]
        indexes = [models.Index(fields=["label", "config"], name="param_label_idx")]

    def __str__(self) -> str:
        return self.label


class SyncRun(models.Model):
    """One attempt to bring a source's cache up to date.

    A run in status ``running`` is also the lock that keeps a second sync of the same source from
    starting, on any process or machine: the partial unique constraint admits one running run per
    source. A run whose heartbeat stops (a killed process) is taken over after
    ``configs_app.sync.STALE_AFTER``.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(ConfigSource, on_delete=models.PROTECT, related_name="sync_runs")
    config_type = models.CharField(max_length=8, default="all", help_text="custom, sample or all")
    trigger = models.CharField(max_length=32, default="command", help_text="command, web, or schedule")
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    listed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    restored = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="", help_text="What went wrong, without secrets.")
    failed_names = models.JSONField(default=list, blank=True, help_text="Configs whose detail could not be read (first 200).")

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source"], condition=Q(status="running"), name="one_running_sync_per_source"),
        ]
        indexes = [models.Index(fields=["source", "status", "finished_at"], name="syncrun_status_idx")]

    def __str__(self) -> str:
        return f"{self.source} sync #{self.pk} ({self.status})"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None


class ConfigRevision(models.Model):
    """One observed change of a config: its history.

    ``payload`` is the state after the change (the detail payload); ``previous_payload`` the state
    before (None for the first revision); ``diff`` a list of ``{"field", "old", "new"}`` computed by
    ``configs_app.diffing`` at write time. ``kind`` says what was observed.
    """

    class Kind(models.TextChoices):
        CREATED = "created", "First seen"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted upstream"
        RESTORED = "restored", "Back upstream"
        REFRESHED = "refreshed", "Changed (single refresh)"

    config = models.ForeignKey(TrainingJobConfig, on_delete=models.CASCADE, related_name="revisions")
    sync_run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="revisions")
    observed_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    content_hash = models.CharField(max_length=64, blank=True, default="")
    previous_payload = models.JSONField(null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)
    diff = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-observed_at", "-pk"]
        indexes = [
            models.Index(fields=["config", "-observed_at"], name="rev_config_idx"),
            models.Index(fields=["-observed_at"], name="rev_observed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.config} {self.kind} at {self.observed_at:%Y-%m-%d %H:%M}"


class TablePreference(models.Model):
    """Which columns one user chose to show in one table of the pages (e.g. ``configs``).

    Written by the user's own column picker, read when the table is built. ``columns`` lists the
    visible column names in no particular order; names a table no longer has are ignored.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="table_preferences")
    table_name = models.CharField(max_length=64)
    columns = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "table_name"], name="uniq_table_preference")]

    def __str__(self) -> str:
        return f"{self.user} {self.table_name}"
