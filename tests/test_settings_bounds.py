"""Settings at their limits: extreme values are refused by name from every source, values
at the bounds work end to end, and text reads the same in code as in files."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests
import responses

from tiktok_adapter import ConfigurationError, RateLimitExceeded, Settings, TikTokAdapter
from tiktok_adapter.core.rates import parse_rates
from tiktok_adapter.testing import FakeClock

QUERY = "https://open.tiktokapis.com/v2/video/query/"


@pytest.fixture(autouse=True)
def _no_adapter_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The tox "settings" env exports TIKTOK_ADAPTER_*; these tests pass their own.
    for name in list(os.environ):
        if name.startswith("TIKTOK_ADAPTER_") and not name.startswith("TIKTOK_ADAPTER_TEST_"):
            monkeypatch.delenv(name)
    yield


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- parse_rates: the limit strings ---------------------------------------------------------

# (text, [(amount, period in seconds, calendar, scope), ...]); written out from the
# README's syntax, never computed.
GOOD_RATES = [
    ("10/minute", [(10, 60.0, False, "app")]),
    ("5 per second", [(5, 1.0, False, "app")]),
    (" 3 / minute ", [(3, 60.0, False, "app")]),
    ("5/10second", [(5, 10.0, False, "app")]),
    ("10/minute;100/hour", [(10, 60.0, False, "app"), (100, 3600.0, False, "app")]),
    ("5/minute,50/hour", [(5, 60.0, False, "app"), (50, 3600.0, False, "app")]),
    ("5/minute|50/hour", [(5, 60.0, False, "app"), (50, 3600.0, False, "app")]),
    ("1000/day@utc", [(1000, 86400.0, True, "app")]),
    ("1000/day@UTC", [(1000, 86400.0, True, "app")]),
    ("6/minute@token", [(6, 60.0, False, "token")]),
    ("40/minute@account", [(40, 60.0, False, "account")]),
    ("1/day@utc@token", [(1, 86400.0, True, "token")]),
    ("1/day@token@utc", [(1, 86400.0, True, "token")]),
    ("20/minute@token;1000/day@utc", [(20, 60.0, False, "token"), (1000, 86400.0, True, "app")]),
    # The bounds themselves are allowed: 10**9 requests, a window of ten years.
    ("1000000000/second", [(1_000_000_000, 1.0, False, "app")]),
    ("1/3650day", [(1, 315_360_000.0, False, "app")]),
    ("1/3650day@utc", [(1, 315_360_000.0, True, "app")]),
    ("1/10year", [(1, 311_040_000.0, False, "app")]),  # `limits` counts a year as 360 days
]


@pytest.mark.parametrize(("text", "expected"), GOOD_RATES)
def test_parse_rates_reads_good_strings(text: str, expected: list[tuple[Any, ...]]) -> None:
    rates = parse_rates(text, "limits['/x/']")
    assert [(r.amount, r.period, r.calendar, r.scope) for r in rates] == expected


BAD_RATES = [
    ("", "is not a limit string"),
    ("   ", "is not a limit string"),
    (5, "is not a limit string"),
    ("ten/minute", "is not a limit"),
    ("10/fortnight", "is not a limit"),
    ("@utc", "is not a limit"),
    ("10/minute;", "is not a limit"),
    ("0/minute", "allows no requests"),
    ("10/minute;0/hour", "allows no requests"),
    ("1000000001/second", "allows too many requests"),
    ("100000000000000000000000/second", "allows too many requests"),
    ("100000000000000000000000/day@utc", "allows too many requests"),
    ("5/0second", "period of zero"),
    ("5/00minute", "period of zero"),
    ("5 per 0 second", "period of zero"),
    ("5/0second@utc", "period of zero"),
    ("5/0second@token", "period of zero"),
    ("1/99999999999999999999999second", "too long a window"),
    ("1/99999999999999999999999second@utc", "too long a window"),
    ("1/3651day", "too long a window"),
    ("1/11year", "too long a window"),
    ("6/minute@user", "unknown suffix"),
    ("6/minute@token@account", "unknown suffix"),
    ("6/minute@", "unknown suffix"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_RATES)
def test_parse_rates_refuses_bad_strings(text: object, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_rates(text, "limits['/x/']")  # type: ignore[arg-type]
    message = str(err.value)
    assert fragment in message
    assert f"limits['/x/']={text!r}" in message  # the setting and the value, as given


# -- extreme settings, refused from every source ------------------------------------------


class Extreme(NamedTuple):
    key: str  # the key as a source writes it (a setting or one of the guide's aliases)
    text: str  # as the environment or an INI file gives it
    value: Any  # as code or a dict gives it
    toml: str  # a TOML value
    shown: str  # what the message must show of the value given in code
    valid: str  # the fragment that says what is valid


SPEC_HUGE_AMOUNT = "100000000000000000000000/second"
SPEC_HUGE_PERIOD = "1/99999999999999999999999second"
EXTREMES = [
    Extreme("limits", f"/video/query/={SPEC_HUGE_AMOUNT}", {"/video/query/": SPEC_HUGE_AMOUNT},
            f'{{ "/video/query/" = "{SPEC_HUGE_AMOUNT}" }}', SPEC_HUGE_AMOUNT,
            "from 1 to 1,000,000,000"),
    Extreme("limits", f"/video/query/={SPEC_HUGE_PERIOD}", {"/video/query/": SPEC_HUGE_PERIOD},
            f'{{ "/video/query/" = "{SPEC_HUGE_PERIOD}" }}', SPEC_HUGE_PERIOD,
            "from 1 second to 315,360,000 seconds"),
    Extreme("limits", "/video/query/=5/0second", {"/video/query/": "5/0second"},
            '{ "/video/query/" = "5/0second" }', "5/0second", "1 second or more"),
    Extreme("app_limit", "5/0second", "5/0second", '"5/0second"', "'5/0second'",
            "1 second or more"),
    Extreme("app_limit", SPEC_HUGE_AMOUNT, SPEC_HUGE_AMOUNT, f'"{SPEC_HUGE_AMOUNT}"',
            SPEC_HUGE_AMOUNT, "from 1 to 1,000,000,000"),
    Extreme("safety_margin", "1e12", 1e12, "1e12", "1000000000000.0", "from 0 to 60 "),
    Extreme("safety_margin", "nan", float("nan"), "nan", "nan", "from 0 to 60 "),
    Extreme("safety_margin", "-0.01", -0.01, "-0.01", "-0.01", "from 0 to 60 "),
    Extreme("max_wait", "inf", float("inf"), "inf", "inf", "from 0 to 604,800"),
    Extreme("max_wait", "604801", 604_801, "604801", "604801", "from 0 to 604,800"),
    Extreme("backoff_base", "-inf", float("-inf"), "-inf", "-inf", "from 0 to 86,400"),
    Extreme("backoff_max", "1e400", 10**400, "1e300", str(10**400), "from 0 to 86,400"),
    Extreme("cache_expire_after", "1e12", 1e12, "1e12", "1000000000000.0",
            "from 0 to 31,536,000"),
    Extreme("max_retries", "1000", 1000, "1000", "1000", "from 0 to 100"),
    Extreme("max_retries", "9223372036854775807", 2**63 - 1, "9223372036854775807",
            "9223372036854775807", "from 0 to 100"),
    Extreme("priority_shares", "low=nan", {"low": float("nan")}, "{ low = nan }", "nan",
            "fraction in (0, 1]"),
    Extreme("requests_per_hour", "100000000000000000000000", 10**23, "2000000000",
            "100000000000000000000000", "from 1 to 1,000,000,000"),
    Extreme("requests_per_minute", "2000000000", 2_000_000_000, "2000000000", "2000000000",
            "from 1 to 1,000,000,000"),
    Extreme("cache_duration_minutes", "1e300", 1e300, "1e300", "1e+300", "from 0 to 31,536,000"),
]  # fmt: skip
FIELD_EXTREMES = [e for e in EXTREMES if not e.key.startswith(("requests_per", "cache_dur"))]


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(ConfigurationError) as err:
        call()
    return str(err.value)


@pytest.mark.parametrize("case", FIELD_EXTREMES, ids=lambda e: f"{e.key}={e.text}")
def test_extreme_values_from_code_name_the_setting(case: Extreme) -> None:
    for call in (
        lambda: Settings(**{case.key: case.value}),
        lambda: Settings().replace(**{case.key: case.value}),
        lambda: TikTokAdapter(**{case.key: case.value}),
    ):
        message = _message(call)
        assert case.key in message and case.shown in message and case.valid in message


@pytest.mark.parametrize("case", EXTREMES, ids=lambda e: f"{e.key}={e.text}")
def test_extreme_values_from_a_mapping_and_load_keywords(case: Extreme) -> None:
    message = _message(lambda: Settings.from_mapping({case.key: case.value}, source="cfg.json"))
    assert f"cfg.json key {case.key!r}=" in message and case.valid in message
    message = _message(lambda: Settings.load(env=False, **{case.key: case.value}))
    assert f"keyword argument {case.key}=" in message and case.valid in message


@pytest.mark.parametrize("case", EXTREMES, ids=lambda e: f"{e.key}={e.text}")
def test_extreme_values_from_the_environment(case: Extreme) -> None:
    var = "TIKTOK_ADAPTER_" + case.key.upper()
    message = _message(lambda: Settings.from_env(environ={var: case.text}))
    assert f"environment variable {var}={case.text!r}" in message and case.valid in message


@pytest.mark.parametrize("case", EXTREMES, ids=lambda e: f"{e.key}={e.text}")
def test_extreme_values_from_an_ini_file(tmp_path: Path, case: Extreme) -> None:
    path = write(tmp_path, "setup.cfg", f"[tiktok_adapter]\n{case.key} = {case.text}\n")
    message = _message(lambda: Settings.from_file(path))
    assert f"{path} [tiktok_adapter] key {case.key!r}={case.text!r}" in message
    assert case.valid in message


@pytest.mark.parametrize("case", EXTREMES, ids=lambda e: f"{e.key}={e.text}")
def test_extreme_values_from_pyproject(tmp_path: Path, case: Extreme) -> None:
    path = write(tmp_path, "pyproject.toml", f"[tool.tiktok_adapter]\n{case.key} = {case.toml}\n")
    message = _message(lambda: Settings.from_file(path))
    assert f"{path} [tool.tiktok_adapter" in message and case.key in message
    assert case.valid in message


def test_the_bounds_themselves_are_valid() -> None:
    settings = Settings(
        limits={"/video/query/": "1000000000/second;1/3650day"},
        app_limit="1/3650day@utc",
        safety_margin=60,
        backoff_base=86_400,
        backoff_max=86_400,
        max_wait=604_800,
        cache_expire_after=31_536_000,
        max_retries=100,
    )
    assert (settings.safety_margin, settings.max_wait, settings.max_retries) == (60, 604_800, 100)
    for name, over in [
        ("safety_margin", 60.001),
        ("backoff_base", 86_400.001),
        ("backoff_max", 86_400.001),
        ("max_wait", 604_800.001),
        ("cache_expire_after", 31_536_000.001),
        ("max_retries", 101),
    ]:
        with pytest.raises(ConfigurationError, match=name):
            settings.replace(**{name: over})


def _at_the_bounds(**kw: Any) -> TikTokAdapter:
    return TikTokAdapter(
        limits={"/video/query/": "1000000000/second;1/3650day"},
        app_limit="1/3650day@utc",
        safety_margin=60,
        max_wait=604_800,
        default_priority="critical",
        **kw,
    )


def _first_admitted_then_refused(adapter: TikTokAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(QUERY, json={"data": {}, "error": {"code": "ok"}})
    with requests.Session() as session:
        session.mount("https://open.tiktokapis.com/", adapter)
        assert session.get(QUERY).status_code == 200
        # Ten years away is beyond max_wait: a refusal that says so, not an overflow.
        with pytest.raises(RateLimitExceeded) as refused:
            session.get(QUERY)
    assert 315_000_000 < refused.value.retry_after <= 315_360_000 + 60
    assert len(mocked.calls) == 1


def test_a_request_at_the_bounds_is_admitted_then_refused_in_memory(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    _first_admitted_then_refused(_at_the_bounds(clock=clock), mocked)


@pytest.mark.redis
def test_a_request_at_the_bounds_is_admitted_then_refused_on_redis(
    redis_url: str, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    adapter = _at_the_bounds(
        clock=clock,
        storage_uri=redis_url,
        key_prefix=key_prefix,
        storage_time=False,
        on_storage_error="raise",  # a Redis error must show, not hide behind the fallback
    )
    _first_admitted_then_refused(adapter, mocked)


# -- text for numbers, flags and tables: the same from every source ----------------------

# (setting, text, the value Settings holds); the expected values are written out.
TEXTS = [
    ("max_retries", "3", 3),
    ("max_retries", " 0 ", 0),
    ("max_wait", "2.5", 2.5),
    ("max_wait", "none", None),
    ("backoff_base", "1", 1.0),
    ("backoff_max", "30", 30.0),
    ("safety_margin", "0.25", 0.25),
    ("cache_expire_after", "600", 600.0),
    ("storage_time", "no", False),
    ("storage_time", "ON", True),
    ("app_limit", "null", None),
    ("app_limit", "5/hour", "5/hour"),
    ("rate_limit_codes", "40100,40101", frozenset({40100, 40101})),
    ("rate_limit_codes", "[40133]", frozenset({40133})),
    ("limits", "/video/query/=3/minute,30/hour", {"/video/query/": "3/minute;30/hour"}),
    ("priority_shares", "low=0.25", {"low": 0.25, "medium": 1.0, "high": 1.0, "critical": 1.0}),
    ("on_limit", " raise ", "raise"),
]


def _same(held: object, expected: object) -> bool:
    return held == expected and type(held) is type(expected)


@pytest.mark.parametrize(("key", "text", "expected"), TEXTS)
def test_text_reads_the_same_from_code_and_every_source(
    tmp_path: Path, key: str, text: str, expected: object
) -> None:
    ini = write(tmp_path, "setup.cfg", f"[tiktok_adapter]\n{key} = {text}\n")
    toml = write(tmp_path, "pyproject.toml", f"[tool.tiktok_adapter]\n{key} = {text!r}\n")
    given: dict[str, Any] = {key: text}  # text where the annotations say a number or a flag
    sources = {
        "Settings()": Settings(**given),
        "TikTokAdapter()": TikTokAdapter(**given).settings,
        "replace()": Settings().replace(**given),
        "from_mapping": Settings.from_mapping(given),
        "from_env": Settings.from_env(environ={"TIKTOK_ADAPTER_" + key.upper(): text}),
        "INI": Settings.from_file(ini),
        "TOML string": Settings.from_file(toml),
        "load keyword": Settings.load(env=False, **given),
    }
    for source, settings in sources.items():
        held = getattr(settings, key)
        held = dict(held) if key in ("limits", "priority_shares") else held
        assert _same(held, expected), f"{source}: {key}={held!r}, expected {expected!r}"


def test_adapter_keywords_take_text_like_from_mapping() -> None:
    text: dict[str, Any] = {"max_retries": "3", "max_wait": "1.5", "storage_time": "false"}
    adapter = TikTokAdapter(**text)
    assert adapter.settings == Settings.from_mapping(text)
    assert adapter.settings == Settings(max_retries=3, max_wait=1.5, storage_time=False)
    assert TikTokAdapter(Settings(), **{"max_retries": "5"}).settings.max_retries == 5  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "text", "valid"),
    [
        ("max_retries", "three", "a whole number such as 3"),
        ("max_retries", "2.5", "a whole number such as 3"),
        ("max_wait", "soon", "a number such as 2.5"),
        ("storage_time", "maybe", "true or false"),
        ("rate_limit_codes", "forty", "whole numbers"),
        ("limits", "just-a-spec", "has no '='"),
    ],
)
def test_bad_text_in_code_names_the_parameter(key: str, text: str, valid: str) -> None:
    given: dict[str, Any] = {key: text}
    for call in (
        lambda: TikTokAdapter(**given),
        lambda: Settings(**given),
        lambda: Settings().replace(**given),
    ):
        message = _message(call)
        assert f"{key}={text!r}" in message and valid in message
