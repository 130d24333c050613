"""Tables of the pages (django-tables2), NetBox style: one ``<Model>Table`` per list page.

Every orderable column orders by its own fields and then by ``pk``, so rows with equal sort keys
keep one order and paging through them never skips or repeats a row (NetBox ``BaseTable``).
Free text from ModelArts goes through ``masking.mask_text`` and is returned as plain text, which
django-tables2 escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_tables2 as tables
from django.core.paginator import Paginator
from django.utils.dateformat import format as format_date
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django_tables2.utils import AttributeDict

from configs_app.masking import mask_text
from configs_app.models import SyncRun, TrainingJobConfig

#: Page sizes offered; any other requested size is moved into this range (see ClampedPaginator).
PER_PAGE_CHOICES = (25, 50, 100, 500)
DEFAULT_PER_PAGE = 50


def clamp_per_page(value: Any) -> int:
    """A requested page size as one of ``PER_PAGE_CHOICES``: the smallest choice at least as large,
    the largest choice when it is larger than all, the default when it is not a positive number."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return DEFAULT_PER_PAGE
    if number <= 0:
        return DEFAULT_PER_PAGE
    for choice in PER_PAGE_CHOICES:
        if number <= choice:
            return choice
    return PER_PAGE_CHOICES[-1]


class KnownColumnOrdering:
    """Ordering from ``?sort=`` keeps only ``name`` or ``-name`` of an orderable column.

    django-tables2 drops unknown columns itself, but first parses every value as an accessor, which
    warns (DeprecationWarning) for one with a ``.`` such as ``../etc/passwd``; the URL is the
    user's, so anything that is not a column name is dropped before it gets that far.
    """

    @property
    def order_by(self):
        return self._order_by

    @order_by.setter
    def order_by(self, value) -> None:
        aliases = value.split(",") if isinstance(value, str) else (value or ())
        known = [
            alias
            for alias in aliases
            if isinstance(alias, str)
            and alias.removeprefix("-") in self.columns
            and self.columns[alias.removeprefix("-")].orderable
        ]
        tables.Table.order_by.fset(self, known)


class ClampedPaginator(Paginator):
    """A paginator that never raises for a bad page or page size (NetBox ``EnhancedPaginator``).

    django-tables2 hands ``?per_page=`` straight to the paginator (-5 is a 500, 100000 is honoured)
    and turns an out-of-range page into another lookup that fails again for empty tables. Here the
    size is clamped by ``clamp_per_page`` and the page number into ``1..num_pages``.
    """

    def __init__(self, object_list, per_page, orphans: int = 0, allow_empty_first_page: bool = True, **kwargs) -> None:
        super().__init__(object_list, clamp_per_page(per_page), orphans, allow_empty_first_page, **kwargs)

    def validate_number(self, number: Any) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError, OverflowError):
            return 1
        return max(1, min(number, self.num_pages))


class CachedCountPaginator(ClampedPaginator):
    """A ``ClampedPaginator`` that takes the number of rows from ``count`` (a callable) when given.

    The configs table passes ``selectors.config_count`` there: the exact count of the filtered
    rows, computed once per data version and filter, so "1–25 of 97,980" stays true (a new sync
    changes the version) while paging and sorting a large table do not count it again each time.

    With ``bounded_count`` (a callable returning the exact count when it is at most ``bound``, else
    None), a page that lies within the first ``bound`` rows asks it first. When there are more,
    ``count`` is ``bound + 1`` and ``count_is_lower_bound`` is true: the page shows "more than
    ``bound``" and links up to the page just past the bound, where the exact count is taken.
    """

    def __init__(
        self,
        object_list,
        per_page,
        *args,
        count: Callable[[], int] | None = None,
        bounded_count: Callable[[], int | None] | None = None,
        bound: int = 0,
        **kwargs,
    ) -> None:
        self._count = count
        self._bounded_count = bounded_count
        self.bound = bound
        #: True when ``count`` is a lower bound (more than ``bound`` rows), not the number of rows.
        self.count_is_lower_bound = False
        super().__init__(object_list, per_page, *args, **kwargs)

    @cached_property
    def count(self) -> int:
        return self._count() if self._count is not None else super().count

    def validate_number(self, number: Any) -> int:
        if self._bounded_count is not None and "count" not in self.__dict__:
            try:
                requested = max(1, int(number))
            except (TypeError, ValueError, OverflowError):
                requested = 1
            if requested * self.per_page <= self.bound:
                exact = self._bounded_count()
                self.count_is_lower_bound = exact is None
                self.__dict__["count"] = self.bound + 1 if exact is None else exact
        return super().validate_number(number)


def _text(value: Any, length: int | None = None) -> str:
    """Masked free text, truncated to ``length`` characters when given."""
    text = mask_text(str(value or ""))
    return Truncator(text).chars(length) if length else text


def _datetime(value) -> str:
    """A datetime as the tables show it, in the current time zone: ``2024-05-15 08:30``."""
    return format_date(localtime(value), "Y-m-d H:i")


class CompareColumn(tables.CheckBoxColumn):
    """Row checkboxes named ``c`` that submit the chosen configs to the compare page."""

    @property
    def header(self) -> str:
        return "Compare"


class TrainingJobConfigTable(KnownColumnOrdering, tables.Table):
    """The configs table of ``/configs/``: one row per cached config.

    ``select`` (the compare checkbox) and ``name`` always show; the user picks which of
    ``OPTIONAL_COLUMNS`` show, remembered per user (``TablePreference``).
    """

    select = CompareColumn(
        accessor="pk",
        verbose_name="Compare",
        orderable=False,
        exclude_from_export=True,
        attrs={"input": {"name": "c", "class": "form-check-input compare-check", "aria-label": "Select for compare"}},
    )
    name = tables.Column(accessor="config_name", verbose_name="Name", order_by=("config_name", "pk"))
    description = tables.Column(
        accessor="config_desc",
        verbose_name="Description",
        order_by=("config_desc", "pk"),
        attrs={"td": {"class": "col-wrap"}},
    )
    config_type = tables.Column(verbose_name="Type", order_by=("config_type", "pk"))
    engine = tables.Column(
        accessor="engine_name", verbose_name="Engine", order_by=("engine_name", "engine_version", "pk")
    )
    spec = tables.Column(accessor="spec_code", verbose_name="Spec", order_by=("spec_code", "spec_id", "pk"))
    workers = tables.Column(accessor="worker_server_num", verbose_name="Workers", order_by=("worker_server_num", "pk"))
    dataset = tables.Column(
        accessor="dataset_name", verbose_name="Dataset", order_by=("dataset_name", "data_url", "pk")
    )
    image = tables.Column(accessor="user_image_url", verbose_name="Image", order_by=("user_image_url", "pk"))
    source = tables.Column(accessor="source__name", verbose_name="Source", order_by=("source__name", "pk"))
    # Plain columns with a render method rather than DateTimeColumn, which renders every cell
    # through a template (a third of the table's rendering time).
    created = tables.Column(accessor="create_time", verbose_name="Created", order_by=("create_time", "pk"))
    last_changed = tables.Column(
        accessor="last_changed_at", verbose_name="Last changed", order_by=("last_changed_at", "pk")
    )

    #: Columns a user may hide; the rest always show.
    OPTIONAL_COLUMNS = (
        "description",
        "config_type",
        "engine",
        "spec",
        "workers",
        "dataset",
        "image",
        "source",
        "created",
        "last_changed",
    )

    class Meta:
        model = TrainingJobConfig
        fields = ()
        sequence = (
            "select",
            "name",
            "description",
            "config_type",
            "engine",
            "spec",
            "workers",
            "dataset",
            "image",
            "source",
            "created",
            "last_changed",
        )
        order_by_field = "sort"
        per_page = DEFAULT_PER_PAGE
        attrs = {"id": "config-table", "class": "table table-sm table-hover align-middle config-table"}
        empty_text = "No configs match."
        # django-tables2's template for the header; the rows come from ``rows_html``.
        template_name = "configs_app/includes/_config_table.html"

    def rows_html(self) -> list[SafeString]:
        """The ``<tr>`` of each row of the page, built in Python.

        The same markup as django-tables2's row template, about five times faster: that template
        resolves each cell through the template engine and inspects the render method's signature
        for every cell, which made rendering 50 rows most of an uncached page's time. Every cell
        is escaped here unless it is built with ``format_html``.
        """
        columns = [
            (getattr(self, f"_cell_{column.name}"), column.attrs["td"].as_html()) for column in self.columns
        ]
        rows = []
        for index, row in enumerate(self.paginated_rows):
            record: TrainingJobConfig = row.record
            classes = ("row-deleted " if record.deleted_upstream_at else "") + ("even" if index % 2 == 0 else "odd")
            tds = "".join(f"<td{' ' + attrs if attrs else ''}>{cell(record)}</td>" for cell, attrs in columns)
            rows.append(mark_safe(f'<tr data-config-id="{record.pk}" class="{classes}">{tds}</tr>'))  # noqa: S308
        return rows

    @staticmethod
    def _or_dash(value: Any) -> str:
        return "—" if value in (None, "") else conditional_escape(value)

    @cached_property
    def _select_attrs(self) -> str:
        return AttributeDict(self.base_columns["select"].attrs["input"]).as_html()

    def _cell_select(self, record: TrainingJobConfig) -> str:
        return format_html('<input type="checkbox" value="{}" {} />', record.pk, mark_safe(self._select_attrs))  # noqa: S308

    def _cell_name(self, record: TrainingJobConfig) -> str:
        return self.render_name(record.config_name, record)

    def _cell_description(self, record: TrainingJobConfig) -> str:
        return self._or_dash(self.render_description(record.config_desc))

    def _cell_config_type(self, record: TrainingJobConfig) -> str:
        return self._or_dash(record.get_config_type_display())

    def _cell_engine(self, record: TrainingJobConfig) -> str:
        return self.render_engine(record.engine_name, record) if record.engine_name else "—"

    def _cell_spec(self, record: TrainingJobConfig) -> str:
        return self._or_dash(self.render_spec(record.spec_code, record))

    def _cell_workers(self, record: TrainingJobConfig) -> str:
        return self._or_dash(record.worker_server_num)

    def _cell_dataset(self, record: TrainingJobConfig) -> str:
        return self._or_dash(self.render_dataset(record.dataset_name, record))

    def _cell_image(self, record: TrainingJobConfig) -> str:
        return self._or_dash(self.render_image(record.user_image_url))

    def _cell_source(self, record: TrainingJobConfig) -> str:
        return self._or_dash(record.source.name)

    def _cell_created(self, record: TrainingJobConfig) -> str:
        return _datetime(record.create_time) if record.create_time else "—"

    def _cell_last_changed(self, record: TrainingJobConfig) -> str:
        return _datetime(record.last_changed_at) if record.last_changed_at else "—"

    @classmethod
    def column_choices(cls) -> list[tuple[str, str]]:
        """(name, heading) of the columns a user may show or hide, in table order."""
        return [(name, str(cls.base_columns[name].verbose_name)) for name in cls.OPTIONAL_COLUMNS]

    @classmethod
    def hidden_columns(cls, visible: list[str] | None) -> tuple[str, ...]:
        """Names to exclude when the user chose ``visible`` (None: never chose, show all)."""
        if visible is None:
            return ()
        return tuple(name for name in cls.OPTIONAL_COLUMNS if name not in visible)

    def render_name(self, value: str, record: TrainingJobConfig):
        badge = (
            mark_safe(' <span class="badge text-bg-danger">deleted upstream</span>')
            if record.deleted_upstream_at
            else ""
        )
        return format_html('<a href="{}">{}</a>{}', record.get_absolute_url(), value, badge)

    def render_description(self, value: str) -> str:
        return _text(value, 80)

    def render_engine(self, value: str, record: TrainingJobConfig):
        return format_html('{} <span class="text-body-secondary small">{}</span>', value, record.engine_version)

    def render_spec(self, value: str, record: TrainingJobConfig) -> str:
        return value or (str(record.spec_id) if record.spec_id is not None else "—")

    def render_dataset(self, value: str, record: TrainingJobConfig) -> str:
        return _text(value or record.data_url, 60) or "—"

    def render_image(self, value: str) -> str:
        return _text(value, 60)

    def render_created(self, value) -> str:
        return _datetime(value)

    def render_last_changed(self, value) -> str:
        return _datetime(value)


class SyncRunTable(KnownColumnOrdering, tables.Table):
    """The runs of ``/sync-runs/``, newest first."""

    id = tables.Column(verbose_name="Run", order_by=("pk",))
    source = tables.Column(accessor="source__name", verbose_name="Source", order_by=("source__name", "pk"))
    trigger = tables.Column(verbose_name="Trigger", order_by=("trigger", "pk"))
    status = tables.Column(verbose_name="Status", order_by=("status", "pk"))
    started_at = tables.DateTimeColumn(verbose_name="Started", format="Y-m-d H:i:s", order_by=("started_at", "pk"))
    duration = tables.Column(verbose_name="Duration", orderable=False, empty_values=())
    listed = tables.Column(verbose_name="Listed", order_by=("listed", "pk"))
    created = tables.Column(verbose_name="Created", order_by=("created", "pk"))
    updated = tables.Column(verbose_name="Updated", order_by=("updated", "pk"))
    unchanged = tables.Column(verbose_name="Unchanged", order_by=("unchanged", "pk"))
    deleted = tables.Column(verbose_name="Deleted", order_by=("deleted", "pk"))
    restored = tables.Column(verbose_name="Restored", order_by=("restored", "pk"))
    failed = tables.Column(verbose_name="Failed", order_by=("failed", "pk"))
    error = tables.Column(verbose_name="Error", orderable=False, attrs={"td": {"class": "col-wrap"}})

    STATUS_BADGES = {
        SyncRun.Status.RUNNING: "text-bg-info",
        SyncRun.Status.SUCCEEDED: "text-bg-success",
        SyncRun.Status.PARTIAL: "text-bg-warning",
        SyncRun.Status.FAILED: "text-bg-danger",
    }

    class Meta:
        model = SyncRun
        fields = ()
        order_by_field = "sort"
        per_page = DEFAULT_PER_PAGE
        attrs = {"id": "sync-run-table", "class": "table table-sm table-hover align-middle"}
        empty_text = "No sync has run yet."
        template_name = "django_tables2/bootstrap5-responsive.html"

    def render_status(self, record: SyncRun):
        # ``value`` would be the display text (django-tables2 shows choices by label); use the code.
        badge = self.STATUS_BADGES.get(record.status, "text-bg-secondary")
        return format_html('<span class="badge {}">{}</span>', badge, record.get_status_display())

    def render_duration(self, record: SyncRun) -> str:
        duration = record.duration
        if duration is None:
            return "running" if record.status == SyncRun.Status.RUNNING else "—"
        seconds = int(duration.total_seconds())
        return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{duration.total_seconds():.1f} s"

    def render_error(self, value: str) -> str:
        return _text(value, 200)
