"""Settings: the validated fields of :mod:`.base`, built in code or loaded from any source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any

from ..exceptions import ConfigurationError
from .base import ENV_PREFIX, SettingsBase, check_keywords
from .files import file_layer
from .loaders import Layer, build, env_layer, mapping_layer


class Settings(SettingsBase):
    """The adapter's configuration; constructing one validates every field.

    Defaults follow the user's guide: its limit table, 1,000 requests an hour for the
    app, three retries with a backoff base of two seconds. Build one in code, or with
    :meth:`from_mapping`, :meth:`from_env`, :meth:`from_file`, or :meth:`load`, which
    layers code over environment over file over defaults.
    """

    __slots__ = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "mapping") -> Settings:
        """Settings from a dict (JSON, YAML, the guide's RATE_LIMIT_CONFIG); see the README."""
        return build(cls, [mapping_layer(data, source)])

    @classmethod
    def from_env(
        cls, prefix: str = ENV_PREFIX, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Settings from ``TIKTOK_ADAPTER_*`` variables (``environ`` defaults to os.environ)."""
        return build(cls, [env_layer(prefix, environ)])

    @classmethod
    def from_file(cls, path: str | PathLike[str], section: str | None = None) -> Settings:
        """Settings from an INI file's [tiktok_adapter] or pyproject's [tool.tiktok_adapter]."""
        return build(cls, [file_layer(path, section)])

    @classmethod
    def load(
        cls,
        file: str | PathLike[str] | None = None,
        *,
        env: bool | Mapping[str, str] = True,
        prefix: str = ENV_PREFIX,
        **code: Any,
    ) -> Settings:
        """Layer keywords over environment over ``file`` over defaults, then validate once."""
        layers: list[Layer] = [file_layer(file, None)] if file is not None else []
        if env is not False:
            layers.append(env_layer(prefix, None if env is True else env))
        layers.append(mapping_layer(code, "keyword argument", typed=True))
        return build(cls, layers)

    @classmethod
    def given(
        cls,
        owner: str,
        settings: object,
        options: Mapping[str, Any],
        *takers: Callable[..., Any],
    ) -> Settings:
        """What a transport's constructor was given: ``settings`` (or the defaults) with the
        keyword ``options`` over them. ``owner`` names the constructor in the error for a
        first argument that is not a Settings, or a keyword that is neither a setting nor
        one ``takers`` (the constructor) take, with the closest valid name."""
        if settings is not None and not isinstance(settings, Settings):
            raise ConfigurationError(
                f"{owner}(settings={settings!r}): the first argument must be a Settings object "
                "or None; pass settings as keywords, such as on_limit='raise'"
            )
        check_keywords(owner, options, *takers)
        base = settings if settings is not None else cls()
        return base.replace(**options) if options else base
