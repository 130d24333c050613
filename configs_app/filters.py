"""Filters of the configs table (django-filter), NetBox style: one ``q`` plus specific filters.

Every filter is a GET parameter, so a filtered table is a bookmarkable URL. An invalid value makes
the form invalid; the list view then shows the form errors and an empty table (django-filter's
strict mode), and the export of an invalid filter is empty too.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.http import QueryDict

from configs_app.forms import ConfigFilterForm
from configs_app.models import ConfigSource, TrainingJobConfig
from configs_app.selectors import config_distinct_values, config_parameter_filter, config_search


class DistinctValuesFilter(django_filters.ChoiceFilter):
    """A select of the distinct non-blank values a column has in the cache (one query per data
    version when the filter set was given one, else one per page)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("empty_label", "Any")
        super().__init__(*args, **kwargs)

    @property
    def field(self):
        if not hasattr(self, "_field"):
            version = getattr(self.parent, "data_version", None)
            values = config_distinct_values(self.field_name, version=version)
            self.extra["choices"] = [(value, value) for value in values]
        return super().field


class SearchField(forms.CharField):
    """The quick search text: NUL characters are dropped rather than refused.

    A plain CharField refuses NUL with a validation error, but ``q`` is typed in the header, far
    from the filter form that shows errors, and no stored text contains a NUL anyway (PostgreSQL
    text cannot), so dropping them searches for what the user can see they typed.
    """

    def to_python(self, value):
        return super().to_python(value).replace("\x00", "")


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField


class IntegerFilter(django_filters.NumberFilter):
    """A whole-number filter (django-filter's NumberFilter accepts decimals)."""

    field_class = forms.IntegerField


class TrainingJobConfigFilterSet(django_filters.FilterSet):
    """Filters of ``/configs/`` and its exports.

    ``status`` defaults to ``active`` (configs still in ModelArts). The parameter filters act
    together on one ``ConfigParameter`` row: ``parameter`` (label, any case), ``parameter_value``
    and ``parameter_match`` (exact or contains); values match non-secret rows only.
    """

    STATUS_CHOICES = (("active", "Active"), ("deleted", "Deleted upstream"), ("all", "All"))
    MATCH_CHOICES = (("contains", "contains"), ("exact", "is exactly"))
    CUSTOM_IMAGE_CHOICES = (("yes", "Custom image"), ("no", "Engine image"))
    #: Filters applied together by ``filter_queryset`` rather than one by one.
    PARAMETER_FILTERS = ("parameter", "parameter_value", "parameter_match")

    q = SearchFilter(method="filter_search", label="Search")
    source = django_filters.ModelChoiceFilter(
        queryset=ConfigSource.objects.order_by("name"), to_field_name="name", empty_label="Any"
    )
    config_type = django_filters.ChoiceFilter(
        choices=TrainingJobConfig.ConfigType.choices, label="Config type", empty_label="Any"
    )
    engine = DistinctValuesFilter(field_name="engine_name", label="Engine")
    engine_version = DistinctValuesFilter(field_name="engine_version", label="Engine version")
    spec = DistinctValuesFilter(field_name="spec_code", label="Spec")
    workers_min = IntegerFilter(
        field_name="worker_server_num", lookup_expr="gte", label="Workers from", min_value=0, max_value=2**31 - 1
    )
    workers_max = IntegerFilter(
        field_name="worker_server_num", lookup_expr="lte", label="Workers to", min_value=0, max_value=2**31 - 1
    )
    created_from = django_filters.DateFilter(
        field_name="create_time",
        lookup_expr="date__gte",
        label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = django_filters.DateFilter(
        field_name="create_time",
        lookup_expr="date__lte",
        label="Created to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    custom_image = django_filters.ChoiceFilter(
        choices=CUSTOM_IMAGE_CHOICES, method="filter_custom_image", label="Image", empty_label="Any"
    )
    parameter = django_filters.CharFilter(label="Parameter label")
    parameter_value = django_filters.CharFilter(label="Parameter value")
    parameter_match = django_filters.ChoiceFilter(choices=MATCH_CHOICES, label="Value match", empty_label=None)
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", label="Status", empty_label=None
    )

    class Meta:
        model = TrainingJobConfig
        fields: list[str] = []
        form = ConfigFilterForm

    def __init__(self, data: QueryDict | None = None, *args, data_version: str | None = None, **kwargs) -> None:
        #: ``selectors.data_version()`` of the request, so the choices of the select filters are
        #: read once per version (None: read them each time).
        self.data_version = data_version
        # Always bound, so the defaults (active configs, "contains") apply to a bare /configs/.
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if not data.get("status"):
            data["status"] = "active"
        if not data.get("parameter_match"):
            data["parameter_match"] = "contains"
        super().__init__(data, *args, **kwargs)

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        for name, value in data.items():
            if name not in self.PARAMETER_FILTERS:
                queryset = self.filters[name].filter(queryset, value)
        return config_parameter_filter(
            queryset,
            label=data.get("parameter") or "",
            value=data.get("parameter_value") or "",
            match=data.get("parameter_match") or "contains",
        )

    def filter_search(self, queryset, name: str, value: str):
        return config_search(queryset, value)

    def filter_custom_image(self, queryset, name: str, value: str):
        return queryset.filter(is_custom_image=(value == "yes"))

    def filter_status(self, queryset, name: str, value: str):
        if value == "deleted":
            return queryset.filter(deleted_upstream_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(deleted_upstream_at__isnull=True)

    @property
    def active_filters(self) -> list[tuple[str, str]]:
        """(label, value) of each filter in use other than the defaults, for the "filtered by" line."""
        if not self.is_bound or not self.form.is_valid():
            return []
        shown = []
        for name, value in self.form.cleaned_data.items():
            if value in (None, "", []) or (name == "status" and value == "active") or name == "parameter_match":
                continue
            shown.append((str(self.filters[name].label or name), str(value)))
        return shown
