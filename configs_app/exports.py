"""Exports of the (filtered) configs table as CSV, JSON and XLSX, streamed with flat memory.

CSV and JSON are ``StreamingHttpResponse`` bodies generated over ``queryset.iterator()``; XLSX is
written row by row by an openpyxl write-only workbook into a temporary file that is then streamed.
So 10,000 or 100,000 rows cost a chunk of rows in memory, not the whole table.

Secrets never leave: parameter values go through ``masking.masked_parameters``, every free text
through ``masking.mask_text``. Cells that a spreadsheet would run as a formula (starting with
``= + - @``, tab or carriage return) get a leading ``'`` in CSV and XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from configs_app.masking import mask_text, masked_parameters
from configs_app.models import TrainingJobConfig

EXPORT_FORMATS = ("csv", "json", "xlsx")
#: Rows fetched from the database per round trip.
CHUNK_SIZE = 1000
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


def _masked(value: Any) -> str:
    return mask_text(str(value)) if value not in (None, "") else ""


def _parameters_text(config: TrainingJobConfig) -> str:
    return "; ".join(f"{p['label']}={p['value']}" for p in masked_parameters(config.parameters or []))


#: (header, value of one config): every column of the table plus the details a spreadsheet needs.
COLUMNS: list[tuple[str, Callable[[TrainingJobConfig], Any]]] = [
    ("source", lambda c: c.source.name),
    ("config_type", lambda c: c.config_type),
    ("config_name", lambda c: c.config_name),
    ("config_desc", lambda c: _masked(c.config_desc)),
    ("engine_name", lambda c: c.engine_name),
    ("engine_version", lambda c: c.engine_version),
    ("engine_id", lambda c: c.engine_id),
    ("engine_type", lambda c: c.engine_type),
    ("spec_code", lambda c: c.spec_code),
    ("spec_id", lambda c: c.spec_id),
    ("gpu_type", lambda c: c.gpu_type),
    ("gpu_num", lambda c: c.gpu_num),
    ("cpu", lambda c: c.cpu),
    ("core", lambda c: c.core),
    ("worker_server_num", lambda c: c.worker_server_num),
    ("dataset_name", lambda c: _masked(c.dataset_name)),
    ("dataset_id", lambda c: c.dataset_id),
    ("dataset_version_name", lambda c: _masked(c.dataset_version_name)),
    ("dataset_version_id", lambda c: c.dataset_version_id),
    ("data_url", lambda c: _masked(c.data_url)),
    ("app_url", lambda c: _masked(c.app_url)),
    ("boot_file_url", lambda c: _masked(c.boot_file_url)),
    ("model_id", lambda c: c.model_id),
    ("train_url", lambda c: _masked(c.train_url)),
    ("log_url", lambda c: _masked(c.log_url)),
    ("user_image_url", lambda c: _masked(c.user_image_url)),
    ("user_command", lambda c: _masked(c.user_command)),
    ("pool_name", lambda c: _masked(c.pool_name)),
    ("pool_id", lambda c: c.pool_id),
    ("create_time", lambda c: c.create_time),
    ("last_changed_at", lambda c: c.last_changed_at),
    ("deleted_upstream_at", lambda c: c.deleted_upstream_at),
    ("url", lambda c: c.get_absolute_url()),
]
HEADERS = [name for name, _ in COLUMNS] + ["parameters"]


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula; other types as is."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _iterate(queryset: QuerySet[TrainingJobConfig]) -> Iterator[TrainingJobConfig]:
    return queryset.iterator(chunk_size=CHUNK_SIZE)


def table_rows(queryset: QuerySet[TrainingJobConfig]) -> Iterator[list[Any]]:
    """Header, then one masked row per config (datetimes as aware datetimes, parameters as text)."""
    yield list(HEADERS)
    for config in _iterate(queryset):
        yield [getter(config) for _, getter in COLUMNS] + [_parameters_text(config)]


def config_record(config: TrainingJobConfig) -> dict[str, Any]:
    """One config for the JSON export: every column, parameters as ``[{label, value, masked}]``."""
    record: dict[str, Any] = {}
    for name, getter in COLUMNS:
        value = getter(config)
        record[name] = _iso(value) if isinstance(value, dt.datetime) else value
    record["parameters"] = masked_parameters(config.parameters or [])
    return record


class _Echo:
    """A file-like object whose write returns the text, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_stream(queryset: QuerySet[TrainingJobConfig]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheet programs read the file as UTF-8
    for row in table_rows(queryset):
        yield writer.writerow(
            [spreadsheet_safe(_iso(v) if isinstance(v, dt.datetime) else ("" if v is None else v)) for v in row]
        )


def _json_stream(queryset: QuerySet[TrainingJobConfig]) -> Iterator[str]:
    yield "["
    first = True
    for config in _iterate(queryset):
        yield ("\n" if first else ",\n") + json.dumps(config_record(config), ensure_ascii=False, default=str)
        first = False
    yield "\n]\n"


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # Excel has no time zones: write local wall-clock time.
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, str):
        return spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _xlsx_file(rows: Iterable[list[Any]]):
    """The rows written into a temporary .xlsx file, positioned at its start."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("configs")
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle


def export_response(queryset: QuerySet[TrainingJobConfig], *, fmt: str, filename: str) -> HttpResponseBase:
    """A download of ``queryset`` in ``fmt`` (one of ``EXPORT_FORMATS``) named ``filename.<fmt>``.

    Raises:
        ValueError: ``fmt`` is not an export format.
    """
    name = f"{filename}.{fmt}"
    disposition = f'attachment; filename="{name}"'
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_stream(queryset), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = StreamingHttpResponse(_json_stream(queryset), content_type="application/json")
    elif fmt == "xlsx":
        return FileResponse(
            _xlsx_file(table_rows(queryset)),
            as_attachment=True,
            filename=name,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    response["Content-Disposition"] = disposition
    return response
