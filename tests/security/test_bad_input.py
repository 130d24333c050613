"""Bad input never breaks a page: property tests over every query parameter of every view.

Hypothesis throws at each parameter what a browser, a crawler or an attacker may send: SQL and
HTML metacharacters, 10,000 characters, NUL bytes, any Unicode (lone surrogates cannot be encoded
in a URL, so they are left out and the test client percent-encodes the rest), negative, huge and
non-numeric numbers, Unicode digits, unknown sort columns, malformed dates and reversed ranges.
Whatever comes in, the answer is never a 5xx, and where a page can say something it does: an
invalid filter shows the filter errors, a page number or size out of range is clamped, a bad
compare selection is explained, an unknown config is a 404.

The parameters are read from the code, not listed by hand (the filter set's filters, the tables'
columns), so a filter added later is fuzzed without anyone touching this file. Run on SQLite and
PostgreSQL: PostgreSQL refuses NUL bytes in text parameters, the classic source of 500s.

Production bugs these properties found are pinned by the regression tests at the end of the file.
"""

from __future__ import annotations

import re
import string
import urllib.parse
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from configs_app.filters import TrainingJobConfigFilterSet
from configs_app.forms import COMPARE_MAX
from configs_app.models import TrainingJobConfig
from configs_app.tables import PER_PAGE_CHOICES, SyncRunTable, TrainingJobConfigTable
from tests.factories import RevisionFactory, SourceFactory, SyncRunFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db

#: Each property tries this many inputs; together the file stays well under a minute.
EXAMPLES = 60
fuzz = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- What is thrown -----------------------------------------------------------------------------

#: Classic payloads: SQL and HTML metacharacters, template syntax, path tricks, NUL, odd Unicode.
PAYLOADS = [
    "",
    " ",
    "'",
    '"',
    "' OR '1'='1",
    "'; DROP TABLE configs_app_trainingjobconfig; --",
    "1; SELECT pg_sleep(10)",
    "%",
    "_",
    "\\",
    "%%%",
    "\\%",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{ 7|add:7 }}",
    "{% debug %}",
    "${7*7}",
    "../../../../etc/passwd",
    "..%2F..%2F",
    "%00",
    "\x00",
    "a\x00b",
    "\x00" * 50,
    "\r\nSet-Cookie: x=1",
    "\t",
    "\u202egnp.exe",
    "\ufeff",
    "\uffff",
    "😀" * 20,
    "配置-1",
    "x" * 10_000,
    "'" * 10_000,
    "\x00" * 10_000,
]
#: Numbers as text: negative, zero, huge, non-numeric, floats, Unicode digits, padded.
NUMBERISH = [
    "-1",
    "0",
    "-0",
    "1",
    "2",
    "3",
    "99999",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999999999",
    "1e9",
    "1.5",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    " 5",
    "5 ",
    "٣",  # ARABIC-INDIC DIGIT THREE: int() accepts it
    "５",  # FULLWIDTH DIGIT FIVE: int() accepts it
    "abc",
    "",
]
#: Dates: malformed, impossible, out of range, other formats.
DATEISH = [
    "2024-01-01",
    "2024-06-01",
    "2024-02-30",
    "2024-13-01",
    "2024-00-10",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "-2024-01-01",
    "2024/01/01",
    "01/02/2024",
    "2024-01-01T00:00:00",
    "2024-01-01 00:00",
    "yesterday",
    "2024-1-1",
    "２０２４-０１-０１",
]

_no_surrogates = st.characters(exclude_categories=("Cs",))
any_text = st.text(alphabet=_no_surrogates, max_size=300)
long_text = st.builds(lambda c, n: c * n, st.characters(exclude_categories=("Cs",)), st.integers(1000, 10_000))
nasty = st.one_of(st.sampled_from(PAYLOADS), any_text, long_text)
numberish = st.one_of(
    st.sampled_from(NUMBERISH),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    nasty,
)
dateish = st.one_of(st.sampled_from(DATEISH), st.dates().map(str), nasty)


def _sort_values(table_class) -> st.SearchStrategy[str]:
    columns = list(table_class.base_columns)
    known = st.sampled_from(columns).flatmap(lambda c: st.sampled_from([c, f"-{c}", f"--{c}", f"{c},{c}"]))
    return st.one_of(known, st.sampled_from(["pk", "id", "raw", "config_name", "?", "-", ","]), nasty)


def _filter_values(name: str) -> st.SearchStrategy[str]:
    """Values for one filter: junk for everyone, plus near-misses of the filter's own type."""
    filter_ = TrainingJobConfigFilterSet.base_filters[name]
    kind = type(filter_).__name__
    if "Date" in kind:
        return dateish
    if "Number" in kind or "Integer" in kind:
        return numberish
    choices = getattr(filter_, "extra", {}).get("choices")
    if isinstance(choices, list | tuple) and choices:
        return st.one_of(st.sampled_from([str(c[0]) for c in choices]), nasty)
    return st.one_of(st.sampled_from(["team-a", "PyTorch", "learning_rate", "0.01", "yes", "exact"]), nasty)


#: Every query parameter of the configs table, read from the code.
FILTER_NAMES = sorted(TrainingJobConfigFilterSet.base_filters)
LIST_PARAMS: dict[str, st.SearchStrategy[str]] = {name: _filter_values(name) for name in FILTER_NAMES}
LIST_PARAMS.update(
    page=numberish,
    per_page=numberish,
    sort=_sort_values(TrainingJobConfigTable),
    _export=st.one_of(st.sampled_from(["csv", "json", "xlsx", "CSV", "pdf", "csv\x00"]), nasty),
)
PAGED_PARAMS = {"page": numberish, "per_page": numberish, "sort": _sort_values(SyncRunTable)}


def query(params: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of ``params`` (a value each, sometimes a repeated value) plus a stray parameter or two."""
    value_or_list = {k: st.one_of(v, st.lists(v, min_size=2, max_size=3)) for k, v in params.items()}
    known = st.fixed_dictionaries({}, optional=value_or_list)
    stray = st.dictionaries(st.text(alphabet=_no_surrogates, min_size=1, max_size=20), nasty, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, stray)



# --- Helpers ------------------------------------------------------------------------------------


def fetch(client: Client, method: str, path: str, data: Any = None):
    """Make the request, read a streamed body to the end (errors in a stream surface only then)
    and assert the answer is not a server error."""
    response = getattr(client, method)(path, data) if data is not None else getattr(client, method)(path)
    # Reading a streamed body to the end closes the response the way the test client means it to
    # (with close_old_connections unhooked). An explicit response.close() would fire
    # request_finished with it hooked, and once CONN_MAX_AGE has passed (60 s, PostgreSQL) that
    # closes the test's database connection under it.
    if response.streaming:
        response.body = b"".join(response.streaming_content)
    assert response.status_code < 500, (method, path, data, response.status_code)
    return response


@pytest.fixture
def catalogue():
    """Configs in two sources and both types, a revision, sync runs: every page has rows."""
    a, b = SourceFactory(name="team-a"), SourceFactory(name="team-b")
    configs = [
        TrainingJobConfigFactory(source=a, config_name="tf-resnet", engine_name="TensorFlow", worker_server_num=1),
        TrainingJobConfigFactory(source=a, config_name="pt-bert", engine_name="PyTorch", worker_server_num=4),
        TrainingJobConfigFactory(source=b, config_name="mx-yolo", engine_name="MXNet", config_type="sample"),
    ]
    RevisionFactory(config=configs[0])
    SyncRunFactory(source=a)
    SyncRunFactory(source=b, status="failed", error="ModelArts unavailable")
    return configs


# --- The configs table and its exports -------------------------------------------------------


def test_every_filter_is_fuzzed():
    """The properties below cover every filter the filter set has (new ones included)."""
    assert set(FILTER_NAMES) <= set(LIST_PARAMS)
    assert {"q", "page", "per_page", "sort", "_export"} <= set(LIST_PARAMS)


@fuzz
@given(params=query(LIST_PARAMS))
@example(params={"q": "a\x00b", "source": "\x00", "parameter": "\x00", "parameter_value": "\x00"})
@example(params={"created_from": "2024-06-01", "created_to": "2024-01-01", "workers_min": "5", "workers_max": "2"})
@example(params={"page": "99999999999999999999999999", "per_page": "-5", "sort": "-nonsense"})
@example(params={"q": "x" * 10_000, "per_page": "100000"})
@example(params={"q": "\x00" * 10_000})
def test_configs_table_survives_any_query(viewer_client, catalogue, params):
    response = fetch(viewer_client, "get", "/configs/", params)
    if response.streaming:
        return  # ?_export= asked for a download
    assert response.status_code == 200
    assert_sane_table_page(response.content.decode())


def assert_sane_table_page(html: str) -> None:
    """The page shows a clamped page of a clamped size, or says which filters are wrong.

    Read from the page's HTML (the ids the browser tests use), so the check holds however the view
    builds it (the list view caches rendered fragments).
    """
    count = re.search(r'id="result-count">\s*(.*?)\s*configs', html, re.S)
    assert count, "no result count on the page"
    numbers = [int(n.replace(",", "")) for n in re.findall(r"[\d,]+", count.group(1))]
    if numbers != [0]:
        start, end, total = numbers
        assert 1 <= start <= end <= total and end - start + 1 <= max(PER_PAGE_CHOICES)
    chosen = re.findall(r'href="[^"]*"\s+aria-current="true">(\d+)</a>', html)
    assert [int(n) for n in chosen if int(n) in PER_PAGE_CHOICES], "no page size is marked as chosen"
    if 'id="filter-errors"' in html:
        # The page says which filters are wrong and shows nothing rather than a wrong answer.
        assert numbers == [0]
        assert "invalid-feedback" in html


@fuzz
@given(fmt=st.sampled_from(["csv", "json", "xlsx"]), params=query(LIST_PARAMS))
@example(fmt="csv", params={"q": "\x00", "source": "a\x00", "created_from": "2024-13-01"})
@example(fmt="xlsx", params={"q": "'\"<>&%_\\", "sort": "-description"})
def test_exports_survive_any_query(viewer_client, catalogue, fmt, params):
    response = fetch(viewer_client, "get", f"/configs/export.{fmt}", params)
    assert response.status_code == 200
    assert response.body, "an export always has at least its header"


# --- Compare, sync runs, overview ---------------------------------------------------------------

compare_ids = st.lists(st.one_of(numberish, st.integers(1, 10).map(str)), max_size=COMPARE_MAX + 3)


@fuzz
@given(c=compare_ids, diff=st.one_of(st.none(), st.sampled_from(["1", "0", "true", "on", ""]), nasty))
@example(c=["1", "1", "1"], diff="1")
@example(c=["-1", "0"], diff=None)
@example(c=["9223372036854775808", "1"], diff=None)
@example(c=["1", "2", "3", "4", "5", "6", "7"], diff=None)
def test_compare_survives_any_selection(viewer_client, catalogue, c, diff):
    params: dict[str, Any] = {"c": c}
    if diff is not None:
        params["diff"] = diff
    response = fetch(viewer_client, "get", "/compare/", params)
    assert response.status_code == 200
    if c and not response.context.get("configs"):
        # Not comparable: the page says why.
        assert b'id="compare-error"' in response.content


@fuzz
@given(params=query(PAGED_PARAMS))
@example(params={"page": "-1", "per_page": "0", "sort": "-duration"})
@example(params={"page": "abc", "per_page": "99999999999999999999", "sort": "error"})
def test_sync_runs_survive_any_paging(viewer_client, catalogue, params):
    response = fetch(viewer_client, "get", "/sync-runs/", params)
    assert response.status_code == 200
    table = response.context["table"]
    assert table.paginator.per_page in PER_PAGE_CHOICES
    assert 1 <= table.page.number <= max(1, table.paginator.num_pages)


@fuzz
@given(params=st.dictionaries(st.text(alphabet=_no_surrogates, min_size=1, max_size=30), nasty, max_size=3))
def test_overview_ignores_any_query(viewer_client, catalogue, params):
    assert fetch(viewer_client, "get", "/", params).status_code == 200


# --- Detail URLs --------------------------------------------------------------------------------

#: The naming rule of the API reference (§4): 1..64 characters, letters, digits, "_" and "-".
ALLOWED_NAME_CHARACTERS = string.ascii_letters + string.digits + "_-"
allowed_names = st.text(alphabet=ALLOWED_NAME_CHARACTERS, min_size=1, max_size=64)


@fuzz
@given(name=allowed_names, config_type=st.sampled_from(["custom", "sample"]))
@example(name="-", config_type="custom")
@example(name="_" * 64, config_type="sample")
@example(name="A-z_09" * 10 + "Zz-_", config_type="custom")
def test_every_allowed_name_opens_and_its_neighbours_are_404(viewer_client, name, config_type):
    source = SourceFactory(name="names")
    config = TrainingJobConfig.objects.filter(source=source, config_type=config_type, config_name=name).first()
    if config is None:
        config = TrainingJobConfigFactory(source=source, config_type=config_type, config_name=name)
    response = fetch(viewer_client, "get", config.get_absolute_url())
    assert response.status_code == 200
    assert response.context["config"].pk == config.pk
    other_type = "sample" if config_type == "custom" else "custom"
    for path in (
        f"/configs/names/{config_type}/{name}x/",
        f"/configs/names/{other_type}/{name}/",
        f"/configs/nameless/{config_type}/{name}/",
        f"/configs/names/{config_type}/{urllib.parse.quote(name + chr(0), safe='')}/",
    ):
        if not TrainingJobConfig.objects.filter(
            source__name=path.split("/")[2], config_type=path.split("/")[3], config_name=path.split("/")[4]
        ).exists():
            assert fetch(viewer_client, "get", path).status_code == 404, path


segment = st.text(alphabet=_no_surrogates, min_size=1, max_size=200)


@fuzz
@given(source=st.one_of(st.just("team-a"), segment), config_type=st.one_of(st.just("custom"), segment), name=segment)
@example(source="team-a", config_type="custom", name="\x00")
@example(source="team-a\x00", config_type="custom", name="tf-resnet")
@example(source="team-a", config_type="custom\x00", name="tf-resnet")
@example(source="team-a", config_type="custom", name="x" * 10_000)
@example(source="team-a", config_type="custom", name="'; DROP TABLE configs_app_trainingjobconfig; --")
def test_any_detail_path_is_a_page_or_404(viewer_client, catalogue, source, config_type, name):
    path = "/configs/" + "/".join(urllib.parse.quote(part, safe="") for part in (source, config_type, name)) + "/"
    response = fetch(viewer_client, "get", path)
    exists = TrainingJobConfig.objects.filter(
        source__name=source, config_type=config_type, config_name=name
    ).exists() if "\x00" not in source + config_type + name else False
    assert response.status_code == (200 if exists else 404), path


#: Percent-encoded junk: invalid UTF-8, overlong encodings, NUL, encoded slashes and dots, bidi.
JUNK_PIECES = ["%00", "%FF", "%FE%FF", "%C0%AF", "%E2%80%AE", "%ED%A0%80", "%2F", "%2e%2e", "%", "%%", "%zz", "%5C"]
junk = st.lists(
    st.one_of(st.sampled_from(JUNK_PIECES), st.text(alphabet=string.ascii_letters + "-_.~!$&'()*+,;=:@", max_size=5)),
    min_size=1,
    max_size=12,
).map("".join)


@fuzz
@given(junk=junk, where=st.sampled_from(["name", "type", "source", "compare"]))
@example(junk="%ED%A0%80", where="name")
@example(junk="..%2F..%2Fadmin", where="name")
def test_url_encoded_junk_is_404_not_500(viewer_client, catalogue, junk, where):
    paths = {
        "name": f"/configs/team-a/custom/{junk}/",
        "type": f"/configs/team-a/{junk}/tf-resnet/",
        "source": f"/configs/{junk}/custom/tf-resnet/",
        "compare": f"/compare/{junk}/",
    }
    response = fetch(viewer_client, "get", paths[where])
    assert response.status_code == 404, paths[where]


# --- POST endpoints -----------------------------------------------------------------------------


@fuzz
@given(
    columns=st.lists(st.one_of(st.sampled_from(TrainingJobConfigTable.OPTIONAL_COLUMNS), nasty), max_size=4),
    reset=st.one_of(st.none(), st.sampled_from(["on", "1", ""]), nasty),
    next_=st.one_of(st.none(), st.sampled_from(["/configs/?q=x", "//evil.example", "https://evil.example/"]), nasty),
)
@example(columns=["name\x00"], reset=None, next_="/configs/\r\nLocation: https://evil.example/")
def test_column_picker_survives_any_post(viewer_client, columns, reset, next_):
    data: dict[str, Any] = {"columns": columns}
    if reset is not None:
        data["reset"] = reset
    if next_ is not None:
        data["next"] = next_
    response = fetch(viewer_client, "post", "/configs/columns/", data)
    assert response.status_code == 302
    location = response["Location"]
    # Never off-site: the Location is relative to this site (it is percent-encoded, so no
    # backslash or control character tricks survive to the browser).
    parts = urllib.parse.urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "testserver"), location[:200]
    assert not location.startswith(("//", "/\\")), location[:200]


@fuzz
@given(source=st.one_of(numberish, st.just("1")), next_=st.one_of(st.none(), nasty))
def test_sync_start_survives_any_source(staff_client, catalogue, fake_sync, source, next_):
    data = {"source": source} if next_ is None else {"source": source, "next": next_}
    response = fetch(staff_client, "post", "/sync-runs/start/", data)
    assert response.status_code in (302, 404)


@fuzz
@given(pk=st.one_of(st.integers(0, 2**64), st.integers(2**64, 10**40)))
@example(pk=9223372036854775807)
@example(pk=9223372036854775808)
def test_refresh_of_any_pk_is_404_when_unknown(staff_client, fake_sync, pk):
    response = fetch(staff_client, "post", f"/configs/refresh/{pk}/")
    assert response.status_code == 404
    assert fake_sync.refresh_calls == []


@fuzz
@given(username=st.one_of(st.sampled_from(["viewer", "VIEWER", "admin"]), nasty), password=nasty, next_=nasty)
@example(username="viewer\x00", password="\x00", next_="https://evil.example/")
def test_login_form_survives_any_post(client, viewer, username, password, next_):
    response = fetch(client, "post", "/accounts/login/", {"username": username, "password": password, "next": next_})
    assert response.status_code in (200, 429)  # the form again with its error, or "too many attempts"


# --- Production bugs found by the properties (regression tests) ------------------------------


@pytest.mark.parametrize("bad", ["²", "1" * 5000, "١"])
def test_compare_with_a_digit_that_int_refuses_is_explained(viewer_client, catalogue, bad):
    """``str.isdigit`` accepts superscripts, Arabic-Indic digits and 5,000-digit numbers that ``int``
    refuses or no column holds: the compare page explains instead of failing."""
    response = fetch(viewer_client, "get", "/compare/", {"c": [bad, "1"]})
    assert response.status_code == 200 and b'id="compare-error"' in response.content


@pytest.mark.parametrize("bad", ["²", "1" * 5000, "١"])
def test_sync_start_with_a_digit_that_int_refuses_is_404(staff_client, catalogue, fake_sync, bad):
    assert fetch(staff_client, "post", "/sync-runs/start/", {"source": bad}).status_code == 404


@pytest.mark.parametrize("username", ["john smith", "viewer\x00", "ü" * 200])
def test_failed_login_with_any_user_name_keeps_the_cache_quiet(client, viewer, username):
    """A typed user name goes into the rate limit's cache key hashed: no CacheKeyWarning (the suite
    makes warnings errors) for spaces, control characters or length."""
    response = fetch(client, "post", "/accounts/login/", {"username": username, "password": "wrong"})
    assert response.status_code == 200


@pytest.mark.filterwarnings("error::DeprecationWarning")
@pytest.mark.parametrize(
    "url", ["/configs/?sort=name.x", "/configs/export.csv?sort=../etc/passwd", "/sync-runs/?sort=a.b"]
)
def test_a_sort_with_a_dot_is_ignored_quietly(viewer_client, catalogue, url):
    assert fetch(viewer_client, "get", url).status_code == 200
