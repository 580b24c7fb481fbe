"""Settings: every loader, the guide's aliases, precedence, and what each error says."""

from __future__ import annotations

import dataclasses
import os
import pickle
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tiktok_adapter import ConfigurationError, Settings, TikTokAdapter
from tiktok_adapter.settings.loaders import KEYS

# The guide's RATE_LIMIT_CONFIG, as the user's config.py has it.
RATE_LIMIT_CONFIG = {
    "requests_per_minute": 10,
    "requests_per_hour": 1000,
    "max_retries": 3,
    "backoff_base_delay": 2,
    "cache_duration_minutes": 30,
}


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


# -- the object -------------------------------------------------------------------------


def test_defaults_validate_and_are_immutable() -> None:
    settings = Settings()
    assert settings.effective_app_limit == "1000/hour"
    with pytest.raises(AttributeError):
        settings.max_retries = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.limits["/x/"] = "1/second"  # type: ignore[index]


def test_pickle_round_trip_and_old_pickles_get_new_defaults() -> None:
    settings = Settings(
        limits={"/video/query/": "3/minute"}, tier=None, priority_shares={"low": 0.2}
    )
    assert pickle.loads(pickle.dumps(settings)) == settings
    old = settings.__getstate__()
    del old["tier"]  # a pickle made before the field existed
    restored = Settings.__new__(Settings)
    restored.__setstate__(old)
    assert restored == settings


def test_repr_hides_the_storage_password() -> None:
    pytest.importorskip("redis")
    settings = Settings(storage_uri="redis://:hunter2@localhost:6379/0")
    assert "hunter2" not in repr(settings)
    assert "redis://:***@localhost" in repr(settings)


def test_tier_is_a_setting() -> None:
    settings = Settings(preset="business", tier="advanced")
    assert settings.effective_app_limit == "20/second;1200/minute;1728000/day@utc"
    with pytest.raises(ConfigurationError, match=r"tier='gold'.*basic"):
        Settings(preset="business", tier="gold")
    with pytest.raises(ConfigurationError, match=r"applies only to preset='business'"):
        Settings(tier="basic")


def test_adapter_takes_settings_and_keywords_win() -> None:
    settings = Settings.from_mapping({"max_retries": "1", "on_limit": "raise"})
    adapter = TikTokAdapter(settings=settings)
    assert adapter.settings is settings
    assert TikTokAdapter.from_settings(settings).settings == settings
    assert TikTokAdapter(settings, max_retries=4).settings.max_retries == 4
    assert TikTokAdapter(preset="business", tier="basic").limiter.preset.name == "business (basic)"


def test_redis_scheme_without_the_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a)
    )
    with pytest.raises(ConfigurationError, match=r"pip install 'tiktok-adapter\[redis\]'") as err:
        Settings.from_env(environ={"TIKTOK_ADAPTER_STORAGE_URI": "redis://:pw@host:6379"})
    assert "TIKTOK_ADAPTER_STORAGE_URI" in str(err.value)
    assert "pw" not in str(err.value)
    Settings(storage_uri="memory://")  # memory needs nothing


# -- from_mapping and the guide's aliases -----------------------------------------------


def test_the_guides_config_dict_loads_with_its_meaning() -> None:
    settings = Settings.from_mapping(RATE_LIMIT_CONFIG, source="RATE_LIMIT_CONFIG")
    assert settings.app_limit == "1000/hour"
    assert settings.max_retries == 3
    assert settings.backoff_base == 2
    assert settings.cache_expire_after == 1800
    # requests_per_minute caps each endpoint of the table and never loosens it.
    assert settings.limits["/video/query/"] == "10/minute;200/hour"
    assert settings.limits["/video/list/"] == "5/minute;50/hour"
    assert settings.limits["/user/info/"] == "10/minute;100/hour"


def test_per_minute_ceiling_spares_endpoints_named_in_limits() -> None:
    settings = Settings.from_mapping(
        {"requests_per_minute": 3, "limits": {"/v2/video/query/": "50/minute"}}
    )
    assert settings.limits["/v2/video/query/"] == "50/minute"
    assert "/video/query/" not in settings.limits
    assert settings.limits["/video/comment/pin/"] == "3/minute;50/hour"


def test_per_minute_ceiling_adds_a_window_where_the_table_has_none() -> None:
    settings = Settings.from_mapping({"preset": "research", "requests_per_minute": 30})
    assert settings.limits["/research/video/query/"] == "1000/day@utc;30/minute"


def test_per_minute_ceiling_follows_the_preset_of_a_higher_layer(tmp_path: Path) -> None:
    path = write(tmp_path, "setup.cfg", "[tiktok_adapter]\nrequests_per_minute = 100\n")
    settings = Settings.load(path, env=False, preset="display-v2")
    assert settings.limits == {
        "/user/info/": "100/minute",
        "/video/list/": "100/minute",
        "/video/query/": "100/minute",
    }


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"app_limit": "5/hour", "requests_per_hour": 5}, "both set app_limit"),
        ({"backoff_base": 1, "backoff_base_delay": 2}, "both set backoff_base"),
        ({"cache_expire_after": 60, "cache_duration_minutes": 1}, "both set cache_expire_after"),
    ],
)
def test_an_alias_and_its_field_in_one_source_conflict(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        Settings.from_mapping(data)


@pytest.mark.parametrize(
    ("key", "value", "valid"),
    [
        ("requests_per_minute", 0, "from 1 to 1,000,000,000"),
        ("requests_per_hour", "lots", "from 1 to 1,000,000,000"),
        ("cache_duration_minutes", "half an hour", "number of minutes"),
    ],
)
def test_bad_alias_values(key: str, value: object, valid: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        Settings.from_mapping({key: value}, source="RATE_LIMIT_CONFIG")
    assert all(s in str(err.value) for s in ("RATE_LIMIT_CONFIG", key, repr(value), valid))


@pytest.mark.parametrize("value", ["[40100, oops", '["x"]', "{}", "1.5"])
def test_bad_rate_limit_codes(value: str) -> None:
    with pytest.raises(ConfigurationError, match=r"TIKTOK_ADAPTER_RATE_LIMIT_CODES.*whole numbers"):
        Settings.from_env(environ={"TIKTOK_ADAPTER_RATE_LIMIT_CODES": value})


def test_mapping_strings_are_parsed_like_the_environment() -> None:
    settings = Settings.from_mapping(
        {"max_wait": "none", "storage_time": "no", "rate_limit_codes": "40100 40101"}
    )
    assert (settings.max_wait, settings.storage_time) == (None, False)
    assert settings.rate_limit_codes == {40100, 40101}
    assert Settings.from_mapping({"rate_limit_codes": 7}).rate_limit_codes == {7}


# Written out from the README's tables, not derived from the code under test.
DOCUMENTED_SETTINGS = {
    "limits", "preset", "tier", "app_limit", "storage_uri", "key_prefix", "on_limit",
    "max_wait", "max_retries", "backoff_base", "backoff_max", "safety_margin",
    "on_storage_error", "storage_time", "default_priority", "priority_shares",
    "rate_limit_codes", "cache_expire_after", "learn_limits",
}  # fmt: skip
GUIDE_ALIASES = {
    "requests_per_minute", "requests_per_hour", "backoff_base_delay", "cache_duration_minutes",
}  # fmt: skip


def test_the_valid_keys_are_the_documented_settings_and_the_guides_aliases() -> None:
    assert {f.name for f in dataclasses.fields(Settings)} == DOCUMENTED_SETTINGS
    assert KEYS == DOCUMENTED_SETTINGS | GUIDE_ALIASES
    # Each one is accepted by a loader, and its neighbour with a typo is not.
    for key in sorted(DOCUMENTED_SETTINGS | GUIDE_ALIASES):
        var = "TIKTOK_ADAPTER_" + key.upper()
        with pytest.raises(ConfigurationError, match="is not a tiktok_adapter setting"):
            Settings.from_env(environ={var + "X": "1"})
        with pytest.raises(ConfigurationError) as err:
            Settings.from_env(environ={var: "{?"})  # valid for no setting
        assert "is not a tiktok_adapter setting" not in str(err.value)


# -- errors name source, key, value and what is valid -----------------------------------

BAD = [
    ("max_retries", "-1", "from 0 to 100"),
    ("max_retries", "three", "whole number"),
    ("backoff_base", "-2", "from 0 to 86,400"),
    ("max_wait", "soon", "a number"),
    ("storage_time", "maybe", "true or false"),
    ("on_limit", "explode", "'sleep', 'raise'"),
    ("on_storage_error", "ignore", "'fallback', 'raise'"),
    ("storage_uri", "mongodb://db", "memory://, redis://"),
    ("preset", "tiktok", "valid presets: business"),
    ("default_priority", "urgent", "'low', 'medium'"),
    ("app_limit", "many/hour", "write it like '10/minute'"),
    ("limits", "/video/query/=ten a minute", "write it like '10/minute'"),
    ("limits", "just-a-spec", "has no '='"),
    ("priority_shares", "low=2", "fraction in (0, 1]"),
    ("rate_limit_codes", "forty", "whole numbers"),
    ("key_prefix", "a{b}", "without braces"),
]


@pytest.mark.parametrize(("key", "value", "valid"), BAD)
def test_env_errors(key: str, value: str, valid: str) -> None:
    var = "TIKTOK_ADAPTER_" + key.upper()
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env(environ={var: value})
    message = str(err.value)
    assert f"environment variable {var}={value!r}" in message
    assert valid in message


@pytest.mark.parametrize(("key", "value", "valid"), BAD)
def test_ini_errors(tmp_path: Path, key: str, value: str, valid: str) -> None:
    path = write(tmp_path, "tox.ini", f"[tiktok_adapter]\n{key} = {value}\n")
    with pytest.raises(ConfigurationError) as err:
        Settings.from_file(path)
    assert f"{path} [tiktok_adapter] key {key!r}={value!r}" in str(err.value)
    assert valid in str(err.value)


@pytest.mark.parametrize(("key", "value", "valid"), BAD)
def test_mapping_errors(key: str, value: str, valid: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        Settings.from_mapping({key: value}, source="config.json")
    assert f"config.json key {key!r}={value!r}" in str(err.value)
    assert valid in str(err.value)


def test_typed_keyword_errors_name_the_keyword() -> None:
    with pytest.raises(ConfigurationError, match=r"keyword argument max_retries=-1: .*from 0 to"):
        Settings.load(env=False, max_retries=-1)
    with pytest.raises(ConfigurationError, match=r"keyword argument max_retries=True"):
        Settings.load(env=False, max_retries=True)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Settings.from_mapping({"on_limit": "never"})


# -- unknown keys are never dropped -----------------------------------------------------


def test_unknown_mapping_key() -> None:
    with pytest.raises(ConfigurationError, match=r"config.json: unknown key 'max_retry'") as err:
        Settings.from_mapping({"max_retry": 1}, source="config.json")
    assert "did you mean 'max_retries'" in str(err.value)
    assert "requests_per_minute" in str(err.value)  # aliases are listed as valid


def test_unknown_keyword() -> None:
    with pytest.raises(ConfigurationError, match="keyword argument: unknown key 'colour'"):
        Settings.load(env=False, colour="red")


def test_unknown_env_variable_is_an_error_but_test_variables_are_reserved() -> None:
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env(environ={"TIKTOK_ADAPTER_MAX_RETRYS": "1"})
    assert "TIKTOK_ADAPTER_MAX_RETRYS is not a tiktok_adapter setting" in str(err.value)
    assert "did you mean TIKTOK_ADAPTER_MAX_RETRIES" in str(err.value)
    environ = {"TIKTOK_ADAPTER_TEST_REDIS_URL": "redis://x", "OTHER": "1", "PATH": "/bin"}
    assert Settings.from_env(environ=environ) == Settings()


def test_unknown_ini_key_and_section(tmp_path: Path) -> None:
    path = write(tmp_path, "setup.cfg", "[tiktok_adapter]\nmax-retry = 1\n")
    with pytest.raises(ConfigurationError, match=r"\[tiktok_adapter\]: unknown key 'max-retry'"):
        Settings.from_file(path)
    path = write(tmp_path, "setup.cfg", "[tiktok_adapter]\n[tiktok_adapter.limit]\n/a/ = 1/s\n")
    with pytest.raises(ConfigurationError, match=r"section \[tiktok_adapter.limit\] is not known"):
        Settings.from_file(path)


def test_unknown_toml_key(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.tiktok_adapter]\nretries = 1\n")
    with pytest.raises(ConfigurationError, match=r"\[tool.tiktok_adapter\]: unknown key 'retries'"):
        Settings.from_file(path)


# -- the environment --------------------------------------------------------------------


def test_from_env_reads_every_kind_of_value() -> None:
    environ = {
        "TIKTOK_ADAPTER_LIMITS": "/video/query/=10/minute;100/hour, /user/info/=5/minute,50/hour",
        "TIKTOK_ADAPTER_APP_LIMIT": "none",
        "TIKTOK_ADAPTER_MAX_WAIT": "2.5",
        "TIKTOK_ADAPTER_MAX_RETRIES": "0",
        "TIKTOK_ADAPTER_STORAGE_TIME": "false",
        "TIKTOK_ADAPTER_PRIORITY_SHARES": '{"low": 0.25}',
        "TIKTOK_ADAPTER_RATE_LIMIT_CODES": "40100,40101",
        "TIKTOK_ADAPTER_ON_LIMIT": "raise",
        "TIKTOK_ADAPTER_KEY_PREFIX": "",  # empty counts as unset
    }
    settings = Settings.from_env(environ=environ)
    assert settings.limits == {
        "/video/query/": "10/minute;100/hour",
        "/user/info/": "5/minute;50/hour",
    }
    assert settings.app_limit is None
    assert settings.effective_app_limit is None
    assert (settings.max_wait, settings.max_retries, settings.storage_time) == (2.5, 0, False)
    assert settings.priority_shares["low"] == 0.25
    assert settings.rate_limit_codes == {40100, 40101}
    assert (settings.on_limit, settings.key_prefix) == ("raise", "tiktok_adapter")


def test_from_env_json_limits_and_custom_prefix() -> None:
    environ = {"MYAPP_LIMITS": '{"/video/query/": "1/second"}', "TIKTOK_ADAPTER_ON_LIMIT": "x"}
    assert Settings.from_env("MYAPP_", environ).limits == {"/video/query/": "1/second"}


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ADAPTER_BACKOFF_MAX", "9")
    assert Settings.from_env().backoff_max == 9.0


def test_env_aliases() -> None:
    settings = Settings.from_env(environ={"TIKTOK_ADAPTER_CACHE_DURATION_MINUTES": "1.5"})
    assert settings.cache_expire_after == 90.0


# -- files ------------------------------------------------------------------------------


def test_ini_section_with_limits_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "setup.cfg",
        """
        [metadata]
        name = app
        [DEFAULT]
        colour = red
        [tiktok_adapter]
        on_limit = raise
        max-wait = 30
        rate_limit_codes = 40100
            40101
        [tiktok_adapter.limits]
        /video/query/ = 10/minute;100/hour
        /user/info/ = 5/minute
        [tiktok_adapter.priority_shares]
        low = 0.3
        """,
    )
    settings = Settings.from_file(path)
    assert (settings.on_limit, settings.max_wait) == ("raise", 30.0)
    assert settings.rate_limit_codes == {40100, 40101}
    assert settings.limits == {"/video/query/": "10/minute;100/hour", "/user/info/": "5/minute"}
    assert settings.priority_shares["low"] == 0.3


def test_ini_limits_section_errors_name_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, "tox.ini", "[tiktok_adapter]\n[tiktok_adapter.limits]\n/a/ = often\n")
    with pytest.raises(ConfigurationError) as err:
        Settings.from_file(path)
    assert f"{path} [tiktok_adapter.limits]" in str(err.value)
    assert "limits['/a/']='often'" in str(err.value)


def test_pyproject_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pyproject.toml",
        """
        [project]
        name = "app"
        [tool.tiktok_adapter]
        preset = "display-v2"
        storage_time = false
        max_wait = 12
        rate_limit_codes = [40100, 40101]
        [tool.tiktok_adapter.limits]
        "/video/query/" = "100/minute"
        """,
    )
    settings = Settings.from_file(path)
    assert (settings.preset, settings.storage_time, settings.max_wait) == ("display-v2", False, 12)
    assert settings.rate_limit_codes == {40100, 40101}
    assert settings.limits == {"/video/query/": "100/minute"}


def test_toml_errors_name_the_table(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", '[tool.tiktok_adapter]\nmax_retries = "3x"\n')
    with pytest.raises(ConfigurationError, match=r"\[tool.tiktok_adapter\] key 'max_retries'='3x'"):
        Settings.from_file(path)
    path = write(tmp_path, "pyproject.toml", '[tool.tiktok_adapter.limits]\n"/a/" = "x"\n')
    with pytest.raises(ConfigurationError, match=r"\[tool.tiktok_adapter.limits\].*'/a/'"):
        Settings.from_file(path)
    path = write(tmp_path, "pyproject.toml", "[tool.tiktok_adapter\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        Settings.from_file(path)


def test_missing_file_section_and_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        Settings.from_file(tmp_path / "nope.cfg")
    path = write(tmp_path, "setup.cfg", "[metadata]\nname = x\n")
    with pytest.raises(ConfigurationError, match=r"has no \[tiktok_adapter\] section"):
        Settings.from_file(path)
    path = write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(ConfigurationError, match=r"has no \[tool.tiktok_adapter\] table"):
        Settings.from_file(path)
    path = write(tmp_path, "bad.ini", "not ini at all\n")
    with pytest.raises(ConfigurationError, match="not a valid INI file"):
        Settings.from_file(path)


def test_other_section_name(tmp_path: Path) -> None:
    path = write(tmp_path, "app.ini", "[rate_limits]\nmax_retries = 1\n")
    assert Settings.from_file(path, section="rate_limits").max_retries == 1


def test_a_limits_key_and_a_limits_section_conflict(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "setup.cfg",
        "[tiktok_adapter]\nlimits = /a/=1/second\n[tiktok_adapter.limits]\n/b/ = 1/second\n",
    )
    with pytest.raises(ConfigurationError, match="both set limits"):
        Settings.from_file(path)


# -- layering ---------------------------------------------------------------------------


def test_precedence_code_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "setup.cfg",
        "[tiktok_adapter]\nmax_retries = 1\nbackoff_base = 1\nbackoff_max = 5\n",
    )
    environ = {"TIKTOK_ADAPTER_BACKOFF_BASE": "3", "TIKTOK_ADAPTER_BACKOFF_MAX": "7"}
    settings = Settings.load(path, env=environ, backoff_max=11)
    assert settings.max_retries == 1  # file
    assert settings.backoff_base == 3  # env over file
    assert settings.backoff_max == 11  # code over env
    assert settings.safety_margin == Settings().safety_margin  # default


def test_an_alias_in_a_higher_layer_overrides_the_field_below(tmp_path: Path) -> None:
    path = write(tmp_path, "setup.cfg", "[tiktok_adapter]\napp_limit = 5/hour\n")
    environ = {"TIKTOK_ADAPTER_REQUESTS_PER_HOUR": "900"}
    assert Settings.load(path, env=environ).app_limit == "900/hour"
    assert Settings.load(path, env=environ, app_limit=None).app_limit is None


def test_load_reads_os_environ_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ADAPTER_MAX_RETRIES", "5")
    assert Settings.load().max_retries == 5
    assert Settings.load(env=False).max_retries == 3
    monkeypatch.setenv("TIKTOK_ADAPTER_BOGUS", "1")
    with pytest.raises(ConfigurationError, match="TIKTOK_ADAPTER_BOGUS"):
        Settings.load()


def test_an_error_in_a_lower_layer_names_that_layer(tmp_path: Path) -> None:
    path = write(tmp_path, "setup.cfg", "[tiktok_adapter]\npreset = business\n")
    with pytest.raises(ConfigurationError, match=r"keyword argument tier='gold'"):
        Settings.load(path, env=False, tier="gold")
    path = write(tmp_path, "setup.cfg", "[tiktok_adapter]\nmax_retries = -1\n")
    with pytest.raises(ConfigurationError, match=r"setup.cfg \[tiktok_adapter\] key 'max_retries'"):
        Settings.load(path, env={"TIKTOK_ADAPTER_ON_LIMIT": "raise"}, backoff_base=1)
