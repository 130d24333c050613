"""Forms of the pages: the filter form's look, the column picker, the compare selection, the login."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm

#: How many configs the compare page shows side by side.
COMPARE_MIN = 2
COMPARE_MAX = 6


class BootstrapFormMixin:
    """Gives every widget the Bootstrap class it needs (selects, checkboxes, text inputs)."""

    def _style_widgets(self) -> None:
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
            else:
                css = "form-control form-control-sm"
            widget.attrs.setdefault("class", css)
            widget.attrs.setdefault("id", f"id_{name}")


class ConfigFilterForm(BootstrapFormMixin, forms.Form):
    """The form class of ``TrainingJobConfigFilterSet``: Bootstrap widgets and one cross-field check."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{name}_errors"

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("workers_min"), data.get("workers_max")
        if low is not None and high is not None and low > high:
            self.add_error("workers_max", "Must not be less than the minimum.")
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "Must not be before the start date.")
        return data


class TableColumnsForm(forms.Form):
    """The column picker: which optional columns of a table show."""

    columns = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    reset = forms.BooleanField(required=False)
    next = forms.CharField(required=False)

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = choices


_ID_PATTERN = re.compile(r"[0-9]{1,19}")


def parse_id(text: str) -> int | None:
    """A primary key typed in a URL or form: 1 to 19 ASCII digits, positive and under 2**63.

    ``str.isdigit`` is not enough: it accepts superscripts (``²``) and numbers of any length, which
    ``int`` then refuses or turns into a value no database column holds.
    """
    if not _ID_PATTERN.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None


class IdListField(forms.Field):
    """Repeated query parameters (``?c=1&c=2``) as a list of distinct positive ids, in order."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        ids: list[int] = []
        for raw in value or []:
            text = str(raw).strip()
            value = parse_id(text)
            if value is None:
                raise forms.ValidationError(f"{text[:40]!r} is not a config id.")
            if value not in ids:
                ids.append(value)
        return ids


class CompareForm(forms.Form):
    """The configs picked for compare: ``?c=<id>&c=<id>`` (2 to 6 distinct ids), ``diff=1`` for
    only the rows that differ."""

    c = IdListField(required=False)
    diff = forms.BooleanField(required=False)

    def clean_c(self) -> list[int]:
        ids = self.cleaned_data.get("c") or []
        if len(ids) < COMPARE_MIN:
            raise forms.ValidationError(f"Pick at least {COMPARE_MIN} configs to compare (you picked {len(ids)}).")
        if len(ids) > COMPARE_MAX:
            raise forms.ValidationError(f"Pick at most {COMPARE_MAX} configs to compare (you picked {len(ids)}).")
        return ids


class LoginForm(BootstrapFormMixin, AuthenticationForm):
    """Django's login form with Bootstrap widgets and labelled inputs."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "class": "form-control"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password", "class": "form-control"})
