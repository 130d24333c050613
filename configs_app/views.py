"""Views: read the request, call selectors, choose the template. No HTTP, no business rules.

Every page needs a login (``LoginRequiredMiddleware``) and the permission
``configs_app.view_trainingjobconfig`` (group "Config viewers"); users without it get 403. The
two actions that reach ModelArts (refresh one config, start a sync) are staff-only POSTs that call
``configs_app.sync``, imported inside the view so the pages never load the API client.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django_tables2

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin, SingleTableView

from configs_app.diffing import canonical_json, flatten
from configs_app.exports import EXPORT_FORMATS, export_response
from configs_app.filters import TrainingJobConfigFilterSet
from configs_app.forms import COMPARE_MAX, COMPARE_MIN, CompareForm, LoginForm, TableColumnsForm, parse_id
from configs_app.masking import MASK, is_secret_label, is_secret_parameter, mask_text, masked_parameters, masked_payload
from configs_app.models import ConfigRevision, ConfigSource, TablePreference, TrainingJobConfig
from configs_app.selectors import (
    COUNT_BOUND,
    PAGE_CACHE_TIMEOUT,
    config_count,
    config_get,
    config_list,
    config_revisions,
    configs_by_ids,
    data_version,
    overview_get,
    page_cache_key,
    sync_run_list,
    table_columns_get,
)
from configs_app.tables import (
    DEFAULT_PER_PAGE,
    PER_PAGE_CHOICES,
    CachedCountPaginator,
    ClampedPaginator,
    SyncRunTable,
    TrainingJobConfigTable,
)

logger = logging.getLogger(__name__)

VIEW_PERMISSION = "configs_app.view_trainingjobconfig"
#: Name under which the configs table's column choice is stored (``TablePreference.table_name``).
CONFIG_TABLE_NAME = "configs"

viewer_required = permission_required(VIEW_PERMISSION, raise_exception=True)


class ViewerRequiredMixin(PermissionRequiredMixin):
    """Logged-in users without the view permission get 403 (anonymous ones never get here:
    ``LoginRequiredMiddleware`` sends them to the login page)."""

    permission_required = VIEW_PERMISSION
    raise_exception = True


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Only staff may use ``view``; everyone else gets 403."""

    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may do this.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` field of the request when it points into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- Overview ------------------------------------------------------------------------------------


@require_GET
@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    """``/``: totals per source, type and engine, configs created per month, latest changes.

    The numbers are computed once per data version (grouping 100,000 configs takes a while) and
    then read from the cache; the page is rendered for each request (it shows relative times).
    """
    key = page_cache_key("overview", data_version(), FRAGMENT_CODE_VERSION, timezone.get_current_timezone_name())
    numbers = cache.get(key)
    if numbers is None:
        numbers = overview_get()
        cache.set(key, numbers, PAGE_CACHE_TIMEOUT)
    return render(request, "configs_app/overview.html", {"overview": numbers})


# --- The configs table ---------------------------------------------------------------------------


def _code_version() -> str:
    """A digest of the code and templates that shape the cached page fragments, so a deploy that
    changes them (a template, a render method, a masking rule) never serves fragments rendered by
    the old code from a shared cache."""
    digest = hashlib.sha256(django_tables2.__version__.encode())
    app = Path(__file__).resolve().parent
    for path in sorted([*app.glob("*.py"), *(Path(settings.BASE_DIR) / "templates").rglob("*.html")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


#: See ``_code_version``; part of every fragment's cache key.
FRAGMENT_CODE_VERSION = _code_version()


def render_table_html(table, request: HttpRequest) -> str:
    """The table's HTML, as ``{% render_table %}`` makes it, without running the context
    processors a second time for it (the tag renders with the request: the freshness banner's
    queries again)."""
    table.before_render(request)
    return get_template(table.template_name).render({"table": table, "request": request})


class ConfigListView(ViewerRequiredMixin, SingleTableMixin, FilterView):
    """``/configs/``: the filtered, sorted, paginated table, and its exports.

    The filter form, the table and its row count are rendered once per data version
    (``selectors.data_version``) and request (query string, the user's columns) and then served
    from the cache: a new sync changes the version, so it is visible at once. The count is cached
    per filter on its own (``selectors.config_count``), so paging and sorting do not repeat it.
    The page around them (header, freshness, column picker with its CSRF token) is rendered for
    each request.

    ``?_export=csv|json|xlsx`` (or ``/configs/export.<fmt>``) streams the filtered set in the
    table's order instead of the page. Not django-tables2's ``ExportMixin``: that builds the whole
    table in memory through tablib, where these exports stream.
    """

    table_class = TrainingJobConfigTable
    filterset_class = TrainingJobConfigFilterSet
    template_name = "configs_app/config_list.html"
    table_pagination = {"per_page": DEFAULT_PER_PAGE, "paginator_class": CachedCountPaginator}
    export_name = "training-job-configs"
    data_version: str | None = None

    def get_queryset(self):
        return config_list()

    def get_filterset_kwargs(self, filterset_class) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data_version"] = self.data_version
        return kwargs

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"exclude": self.hidden_columns}

    def get_table_pagination(self, table) -> dict[str, Any]:
        pagination = dict(super().get_table_pagination(table))
        rows, version = self.object_list, self.data_version
        pagination["count"] = lambda: config_count(rows, version=version)
        if self.filterset.active_filters:  # a search or filter: count exactly only what is needed
            pagination["bounded_count"] = lambda: config_count(rows, version=version, bound=COUNT_BOUND)
            pagination["bound"] = COUNT_BOUND
        return pagination

    def get_template_names(self) -> list[str]:
        # Not ListView's, which derives names from object_list (not built when the cache answers).
        return [self.template_name]

    def export_format(self) -> str | None:
        fmt = self.kwargs.get("fmt") or self.request.GET.get("_export")
        return fmt if fmt in EXPORT_FORMATS else None

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        fmt = self.export_format()
        if fmt is not None:
            return self.export(request, fmt)
        self.data_version = data_version()
        visible = table_columns_get(user=request.user, table_name=CONFIG_TABLE_NAME)
        self.hidden_columns = TrainingJobConfigTable.hidden_columns(visible)
        key = page_cache_key(
            "config-list",
            self.data_version,
            FRAGMENT_CODE_VERSION,
            request.GET.urlencode(),
            self.hidden_columns,
            timezone.get_current_timezone_name(),
        )
        results = cache.get(key)
        if results is None:
            results = self.render_results()
            cache.set(key, results, PAGE_CACHE_TIMEOUT)
        return self.render_to_response(self.get_page_context(results))

    def render_results(self) -> dict[str, Any]:
        """Filter, count, paginate and render: the filter form and table HTML, the numbers."""
        self.filterset = self.get_filterset(self.get_filterset_class())
        valid = self.filterset.is_valid()  # strict: an invalid filter shows an empty table
        self.object_list = self.filterset.qs if valid else self.filterset.queryset.none()
        table = self.get_table(**self.get_table_kwargs())
        count = table.paginator.count
        more_than = table.paginator.count_is_lower_bound
        return {
            "count": table.paginator.bound if more_than else count,
            "count_is_lower_bound": more_than,
            "start": table.page.start_index() if count else 0,
            "end": table.page.end_index() if count else 0,
            "per_page": table.paginator.per_page,
            "has_errors": bool(self.filterset.errors),
            "filter_form": self.filter_form_html(),
            "table": render_table_html(table, self.request),
        }

    def filter_form_html(self) -> str:
        """The filter form. Its fields (selects of every distinct value, each option rendered
        through Django's widget templates) are rendered once per data version and filter values,
        so a new search with the same filters reuses them; the form around them carries this
        request's search, sort and page size."""
        values = [(name, self.request.GET.getlist(name)) for name in self.filterset.form.fields if name != "q"]
        key = page_cache_key("filter-fields", self.data_version, FRAGMENT_CODE_VERSION, values)
        fields = cache.get(key)
        if fields is None:
            fields = render_to_string("configs_app/includes/_filter_fields.html", {"filter": self.filterset})
            cache.set(key, fields, PAGE_CACHE_TIMEOUT)
        return render_to_string(
            "configs_app/includes/_filter_form.html",
            {"fields": mark_safe(fields), "request": self.request},  # noqa: S308 - rendered by our template
        )

    def get_page_context(self, results: dict[str, Any]) -> dict[str, Any]:
        return {
            "view": self,
            "results": {
                **results,
                "filter_form": mark_safe(results["filter_form"]),  # noqa: S308 - rendered by our template
                "table": mark_safe(results["table"]),  # noqa: S308 - rendered by django-tables2
            },
            "column_choices": self.column_choices_html(),
            "per_page_choices": PER_PAGE_CHOICES,
            "export_formats": EXPORT_FORMATS,
            "compare_min": COMPARE_MIN,
            "compare_max": COMPARE_MAX,
        }

    def column_choices_html(self) -> SafeString:
        """The column picker's checkboxes for this user's columns, rendered once per choice."""
        key = page_cache_key("column-choices", None, FRAGMENT_CODE_VERSION, self.hidden_columns)
        html = cache.get(key)
        if html is None:
            visible = [c for c in TrainingJobConfigTable.OPTIONAL_COLUMNS if c not in self.hidden_columns]
            form = TableColumnsForm(choices=TrainingJobConfigTable.column_choices(), initial={"columns": visible})
            html = render_to_string("configs_app/includes/_column_choices.html", {"column_form": form})
            cache.set(key, html, PAGE_CACHE_TIMEOUT)
        return mark_safe(html)  # noqa: S308 - rendered by our template

    def export(self, request: HttpRequest, fmt: str) -> HttpResponseBase:
        """The filtered configs in the table's order as a streamed download."""
        filterset = self.get_filterset(self.get_filterset_class())
        queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
        # Every row is read, none skipped: the source joined costs nothing and saves a query per chunk.
        queryset = queryset.prefetch_related(None).select_related("source")
        # The table decides the order (its sort columns end with pk), so the export matches the page.
        table = self.get_table_class()(data=queryset)
        RequestConfig(request, paginate=False).configure(table)
        return export_response(table.data.data, fmt=fmt, filename=self.export_name)


@require_POST
@viewer_required
def table_columns_save(request: HttpRequest) -> HttpResponseRedirect:
    """Store which optional columns of the configs table this user shows (``reset`` shows all)."""
    form = TableColumnsForm(request.POST, choices=TrainingJobConfigTable.column_choices())
    if form.is_valid():
        if form.cleaned_data["reset"]:
            TablePreference.objects.filter(user=request.user, table_name=CONFIG_TABLE_NAME).delete()
            messages.success(request, "All columns are shown again.")
        else:
            TablePreference.objects.update_or_create(
                user=request.user, table_name=CONFIG_TABLE_NAME, defaults={"columns": form.cleaned_data["columns"]}
            )
            messages.success(request, "Your columns are saved.")
    else:
        messages.error(request, "Those columns could not be saved.")
    return HttpResponseRedirect(_safe_next(request, reverse("configs:list")))


# --- One config ----------------------------------------------------------------------------------

#: Field groups of the detail page: (title, detail payload keys), in the order of the API reference.
FIELD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("General", ("config_name", "config_desc", "create_time")),
    ("Code", ("app_url", "boot_file_url", "model_id")),
    ("Data", ("data_url", "dataset_id", "dataset_version_id", "dataset_name", "dataset_version_name")),
    (
        "Engine and image",
        ("engine_type", "engine_name", "engine_id", "engine_version", "user_image_url", "user_command"),
    ),
    (
        "Resources",
        (
            "spec_id",
            "spec_code",
            "gpu_type",
            "gpu_num",
            "cpu",
            "core",
            "worker_server_num",
            "pool_id",
            "pool_name",
            "nas_mount_path",
            "nas_share_addr",
            "nas_type",
        ),
    ),
    ("Outputs", ("train_url", "log_url")),
)
#: Keys shown elsewhere on the page (their own tables) or describing the response, not the config.
SHOWN_APART = frozenset(
    {"parameter", "data_source", "volumes", "is_success", "error_code", "error_message", "error_msg"}
)
#: OBS paths and image references that get a copy button.
COPYABLE = frozenset({"app_url", "boot_file_url", "data_url", "train_url", "log_url", "user_image_url"})


@dataclass(frozen=True)
class FieldRow:
    """One field of the detail page: masked display text, whether it is JSON and copyable."""

    key: str
    value: str
    missing: bool = False
    is_json: bool = False
    copyable: bool = False


def _display(value: Any) -> tuple[str, bool]:
    """Text of one (already masked) payload value, and whether it is JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True), True
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    return ("" if value is None else str(value)), False


def config_field_groups(
    config: TrainingJobConfig, payload: dict[str, Any] | None = None
) -> list[tuple[str, list[FieldRow]]]:
    """Every field of the config's stored payload, masked, in the groups of ``FIELD_GROUPS``,
    followed by "Other fields" for keys the API reference does not document.

    ``payload`` is ``masked_payload(config.raw)`` when the caller has it already.
    """
    payload = masked_payload(config.raw or {}) if payload is None else payload
    groups: list[tuple[str, list[FieldRow]]] = []
    known: set[str] = set(SHOWN_APART)
    for title, keys in FIELD_GROUPS:
        rows = []
        for key in keys:
            known.add(key)
            if key not in payload:
                rows.append(FieldRow(key, "", missing=True))
                continue
            text, is_json = _display(payload[key])
            if key == "create_time" and config.create_time:
                text = f"{config.create_time:%Y-%m-%d %H:%M:%S %Z} ({text})"
            rows.append(FieldRow(key, text, is_json=is_json, copyable=key in COPYABLE and bool(text)))
        groups.append((title, rows))
    extras = [FieldRow(key, *_display(value)) for key, value in payload.items() if key not in known]
    if extras:
        groups.append(("Other fields (not in the API reference)", extras))
    return groups


def masked_change(change: dict[str, Any]) -> dict[str, Any]:
    """A revision diff entry ``{field, old, new}`` safe to show.

    A parameter (``parameter.<label>``) is masked on both sides when its label is secret, and on
    each side whose value looks like a credential; a field under a secret-looking key likewise;
    other values go through ``masked_payload`` (free text through ``mask_text``).
    """
    name = str(change.get("field", ""))
    old, new = change.get("old"), change.get("new")
    if name.startswith("parameter."):
        label = name.removeprefix("parameter.").split("#", 1)[0]
        secret_label = is_secret_label(label)

        def mask_side(value: Any) -> Any:
            if value is None:
                return None
            return MASK if secret_label or is_secret_parameter(label, value) else value

        return {"field": name, "old": mask_side(old), "new": mask_side(new)}
    last = name.rsplit(".", 1)[-1].split("[", 1)[0]
    if is_secret_label(last):
        return {"field": name, "old": None if old is None else MASK, "new": None if new is None else MASK}
    return {"field": name, "old": masked_payload(old), "new": masked_payload(new)}


def _change_text(change: dict[str, Any]) -> dict[str, Any]:
    """A masked diff entry with its values as display text (None stays None: "not there")."""
    return {
        "field": change["field"],
        "old": None if change["old"] is None else _display(change["old"])[0],
        "new": None if change["new"] is None else _display(change["new"])[0],
    }


@dataclass(frozen=True)
class HistoryEntry:
    """One revision for the history list, with its diff masked for display."""

    revision: ConfigRevision
    changes: list[dict[str, Any]]


def sdk_snippet(config: TrainingJobConfig) -> str:
    """Python that loads this config with the ModelArts SDK (API reference §8)."""
    name = json.dumps(config.config_name)  # a valid Python string literal, quotes escaped
    return (
        "from modelarts.session import Session\n"
        "from modelarts.estimator import Estimator\n\n"
        "session = Session()\n"
        f"config = Estimator(modelarts_session=session, config_name={name}).get_job_configs_info()\n"
    )


class ConfigDetailView(ViewerRequiredMixin, DetailView):
    """``/configs/<source>/<config_type>/<config_name>/``: every field, parameters, raw JSON, history.

    The fields, parameters and raw payload (the bulk of the page: masking every value and
    rendering some 50 rows) are rendered once per data version and config and then served from the
    cache; the header and the history, which show relative times and the staff refresh form, are
    rendered for each request.
    """

    template_name = "configs_app/config_detail.html"
    context_object_name = "config"

    def get_object(self, queryset=None) -> TrainingJobConfig:
        return config_get(
            source=self.kwargs["source"], config_type=self.kwargs["config_type"], config_name=self.kwargs["config_name"]
        )

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        config: TrainingJobConfig = self.object
        key = page_cache_key(
            "config-detail", data_version(), FRAGMENT_CODE_VERSION, config.pk, timezone.get_current_timezone_name()
        )
        body = cache.get(key)
        if body is None:
            body = self.render_body(config)
            cache.set(key, body, PAGE_CACHE_TIMEOUT)
        context.update(
            body={name: mark_safe(html) for name, html in body.items()},  # noqa: S308 - our templates
            history=[
                HistoryEntry(
                    revision, [_change_text(masked_change(c)) for c in revision.diff or [] if isinstance(c, dict)]
                )
                for revision in config_revisions(config)
            ],
            description=mask_text(config.config_desc),
        )
        return context

    @staticmethod
    def render_body(config: TrainingJobConfig) -> dict[str, str]:
        """The cacheable parts of the page as HTML: ``fields``, ``parameters`` (with the SDK
        snippet) and ``raw``. Every value is masked."""
        payload = masked_payload(config.raw or {})
        fields = {
            "field_groups": config_field_groups(config, payload),
            "data_sources": [s for s in payload.get("data_source") or [] if isinstance(s, dict)],
            "volumes": payload.get("volumes") or [],
        }
        parameters = {"parameters": masked_parameters(config.parameters or []), "sdk_snippet": sdk_snippet(config)}
        raw = {"raw_json": json.dumps(payload, indent=2, ensure_ascii=False)}
        return {
            "fields": render_to_string("configs_app/includes/_config_fields.html", fields),
            "parameters": render_to_string("configs_app/includes/_config_parameters.html", parameters),
            "raw": render_to_string("configs_app/includes/_config_raw.html", raw),
        }


@require_POST
@staff_required
def config_refresh(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    """Staff: read one config from ModelArts again (``configs_app.sync.config_refresh``)."""
    config = get_object_or_404(TrainingJobConfig.objects.select_related("source"), pk=pk)
    from configs_app.sync import config_refresh as refresh

    result = refresh(config)
    level = {"failed": messages.ERROR, "deleted": messages.WARNING}.get(result.outcome, messages.SUCCESS)
    messages.add_message(request, level, mask_text(result.message))
    return HttpResponseRedirect(config.get_absolute_url())


# --- Compare -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareCell:
    text: str
    missing: bool = False
    masked: bool = False
    is_json: bool = False


@dataclass(frozen=True)
class CompareRow:
    field: str
    cells: list[CompareCell]
    differs: bool


def compare_rows(configs: list[TrainingJobConfig]) -> list[CompareRow]:
    """Every field and parameter of ``configs`` aligned by ``diffing.flatten`` on masked payloads:
    fields first, parameters after, each in order of first appearance. Values are compared masked,
    so two different secrets look alike here as they do everywhere else."""
    flats = [flatten(masked_payload(c.raw or {})) for c in configs]
    keys: dict[str, None] = {}
    for flat in flats:
        keys.update(dict.fromkeys(k for k in flat if not k.startswith("parameter.")))
    for flat in flats:
        keys.update(dict.fromkeys(k for k in flat if k.startswith("parameter.")))
    header = [
        ("source", [c.source.name for c in configs]),
        ("config_type", [c.config_type for c in configs]),
        (
            "deleted_upstream_at",
            [f"{c.deleted_upstream_at:%Y-%m-%d %H:%M}" if c.deleted_upstream_at else "" for c in configs],
        ),
    ]
    rows = [CompareRow(name, [CompareCell(v) for v in values], len(set(values)) > 1) for name, values in header]
    missing = object()
    for key in keys:
        values = [flat.get(key, missing) for flat in flats]
        cells = []
        for value in values:
            if value is missing:
                cells.append(CompareCell("", missing=True))
                continue
            text, is_json = _display(value)
            cells.append(CompareCell(text, masked=value == MASK, is_json=is_json))
        distinct = {"\0missing" if v is missing else canonical_json(v) for v in values}
        rows.append(CompareRow(key, cells, len(distinct) > 1))
    return rows


@require_GET
@viewer_required
def compare(request: HttpRequest) -> HttpResponse:
    """``/compare/?c=<id>&c=<id>``: 2 to 6 configs side by side; ``diff=1`` shows differing rows only."""
    form = CompareForm(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "compare_min": COMPARE_MIN,
        "compare_max": COMPARE_MAX,
        "asked": "c" in request.GET,
    }
    if form.is_valid():
        ids = form.cleaned_data["c"]
        configs = configs_by_ids(ids)
        unknown = [pk for pk in ids if pk not in {c.pk for c in configs}]
        if unknown:
            context["error"] = "No config with id " + ", ".join(str(pk) for pk in unknown) + "."
        else:
            rows = compare_rows(configs)
            only_diff = form.cleaned_data["diff"]
            context.update(
                configs=configs,
                rows=[r for r in rows if r.differs] if only_diff else rows,
                only_diff=only_diff,
                differing=sum(r.differs for r in rows),
                total_rows=len(rows),
            )
    elif context["asked"]:
        context["error"] = " ".join(form.errors.get("c", [])) or "Those configs cannot be compared."
    return render(request, "configs_app/compare.html", context)


# --- Sync runs -----------------------------------------------------------------------------------


class SyncRunListView(ViewerRequiredMixin, SingleTableView):
    """``/sync-runs/``: every sync run with its counts, duration and error; staff can start one."""

    table_class = SyncRunTable
    template_name = "configs_app/sync_runs.html"
    table_pagination = {"per_page": DEFAULT_PER_PAGE, "paginator_class": ClampedPaginator}

    def get_queryset(self):
        return sync_run_list()

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sources"] = ConfigSource.objects.filter(enabled=True).order_by("name")
        return context


@require_POST
@staff_required
def sync_start(request: HttpRequest) -> HttpResponseRedirect:
    """Staff: start a background sync of one source (``configs_app.sync.start_background_sync``)."""
    source_id = str(request.POST.get("source", ""))
    source = get_object_or_404(ConfigSource, pk=parse_id(source_id.strip()) or 0, enabled=True)
    from configs_app.sync import start_background_sync

    run = start_background_sync(source, trigger="web")
    if run is None:
        messages.warning(request, f"A sync of {source.name} is already running.")
    else:
        messages.success(request, f"Sync #{run.pk} of {source.name} started.")
    return HttpResponseRedirect(_safe_next(request, reverse("configs:sync-runs")))


# --- Health and login ----------------------------------------------------------------------------


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 "ok" when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unavailable")
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


class LoginView(auth_views.LoginView):
    """Django's login with a limit on failed attempts per user name and per client address
    (``LOGIN_RATE_LIMIT`` failures in ``LOGIN_RATE_WINDOW`` seconds, counted in the cache)."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def _keys(self) -> list[str]:
        # The typed user name is hashed: it may hold spaces or control characters, which cache
        # backends refuse in keys (memcached) or warn about (CacheKeyWarning).
        username = str(self.request.POST.get("username", "")).strip().lower()[:150]
        user_key = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
        return [f"login-fail:user:{user_key}", f"login-fail:addr:{self.request.META.get('REMOTE_ADDR', '')}"]

    def _blocked(self) -> bool:
        return any((cache.get(key) or 0) >= settings.LOGIN_RATE_LIMIT for key in self._keys())

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if self._blocked():
            # Not even checked: a blocked attempt must not tell whether the password was right.
            form = self.form_class(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(
                form=form, blocked="Too many failed logins. Wait a few minutes and try again."
            )
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        for key in self._keys():
            cache.add(key, 0, settings.LOGIN_RATE_WINDOW)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, settings.LOGIN_RATE_WINDOW)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        cache.delete(self._keys()[0])
        return super().form_valid(form)
