"""flowprobe's settings, read once from every source in a fixed order.

Precedence: command-line or pytest option > ``FLOWPROBE_*`` environment variable >
``[tool.flowprobe]`` in pyproject.toml > default. Every setting is declared once, in
``SETTINGS``, with its option, environment variable and pyproject key, so the CLI, the pytest
plugin and the docs cannot drift apart.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowprobe.errors import SettingsError
from flowprobe.redaction import REDACTED

MODES = ("live", "replay", "record")
AUTH_STYLES = ("x-api-key", "bearer")


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name, where it is read from, and how its text becomes a value."""

    name: str
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    choices: tuple[str, ...] = ()
    alias: str | None = None
    many: bool = False  # a list: a TOML array, or JSON or comma-separated text

    @property
    def env(self) -> str:
        return "FLOWPROBE_" + self.name.upper()

    @property
    def option(self) -> str:
        return "--flowprobe-" + self.name.replace("_", "-")


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive, finite number of seconds")
    return value


def _positive_megabytes(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive, finite number of megabytes")
    return value


def _folder(text: str) -> str:
    if not text.strip():
        raise ValueError("must be a folder path")
    return text


def _tweaks_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be a JSON object of tweaks ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object of tweaks, e.g. {"Agent-x": {"model": ...}}')
    return value


def _text_list(text: str) -> tuple[str, ...]:
    """``["error_rate<1%", "calls_per_s>5"]`` (JSON) or ``error_rate<1%,calls_per_s>5``."""
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a list of strings ({exc.msg})") from None
        if not all(isinstance(item, str) for item in value):
            raise ValueError('must be a list of strings, e.g. ["error_rate<1%"]')
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())


SESSION_FRESH = "fresh"  # a new session id on every call
SESSION_NONE = "none"  # no session_id: Langflow files every call under the flow's id


def _session_mode(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("must be 'fresh', 'none' or a session id")
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "Langflow's base URL, e.g. http://127.0.0.1:7860", alias="--flowprobe-url"),
    Setting("flow", "the flow's id (UUID) or its endpoint name"),
    Setting("file_flow", "a flow with a Read File component, for the upload suite (id or name)"),
    Setting("api_key", "the Langflow API key (or bearer token for a hosted target)", secret=True),
    Setting("auth", "how the key is sent: x-api-key header, or bearer", choices=AUTH_STYLES),
    Setting("langflow_id", "hosted form only: the id in {base}/lf/{LANGFLOW_ID}/api/v1/run/..."),
    Setting("mode", "live, replay (cassettes) or record (write cassettes)", choices=MODES),
    Setting("timeout", "total seconds allowed for one run call", parse=_positive_seconds),
    Setting("cassette_dir", "where cassettes are read and written", parse=_folder),
    Setting("findings_baseline", "JSON file of accepted findings {id: reason}"),
    Setting(
        "tweaks",
        "tweaks (a JSON object) sent on every call, under the suites' own, e.g. a model choice",
        parse=_tweaks_object,
        secret=True,  # tweaks often carry keys; shown redacted
    ),
    Setting(
        "max_body_mb",
        "the largest answer read, in MB once decompressed; past it a call fails with the reason",
        parse=_positive_megabytes,
    ),
    Setting(
        "session",
        "session_id on every call: 'fresh' (a new one per call), 'none', or a fixed id",
        parse=_session_mode,
    ),
    Setting(
        "thresholds",
        "absolute limits a load run must meet, e.g. ['error_rate<1%', 'end_to_end.p95<2s']",
        parse=_text_list,
        many=True,
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}
DEFAULTS: dict[str, Any] = {
    "auth": "x-api-key",
    "timeout": 60.0,
    "cassette_dir": "cassettes",
    "tweaks": {},
    "session": SESSION_FRESH,
    "max_body_mb": 32.0,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved settings, with the source each value came from (for messages)."""

    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def describe(self, name: str) -> str:
        """Where a value came from, in the words a user would look for it."""
        return self.sources.get(name, "default")

    def __repr__(self) -> str:
        shown = {k: (REDACTED if BY_NAME[k].secret and v else v) for k, v in self.values.items()}
        return f"Settings({shown!r})"


def read_pyproject(start: Path | None = None) -> dict[str, Any]:
    """``[tool.flowprobe]`` of the nearest pyproject.toml at or above ``start``; {} if none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"{candidate} cannot be read as TOML: {exc}") from None
            table = data.get("tool", {}).get("flowprobe", {})
            if not isinstance(table, dict):
                raise SettingsError(f"[tool.flowprobe] in {candidate} must be a table")
            return {str(k).replace("-", "_"): v for k, v in table.items()}
    return {}


# A target variable that is set but blank is most often a CI secret that was never set: taking
# it as unset would test some other target (or replay cassettes) and pass, a false green.
NOT_BLANK = ("base_url", "flow")


def refuse_blank_target(env: Mapping[str, str], options: Mapping[str, Any] | None = None) -> None:
    """A target variable set but blank in ``env`` (and not given in ``options``) is an error
    that names it."""
    blank = [
        BY_NAME[name].env
        for name in NOT_BLANK
        if BY_NAME[name].env in env
        and not env[BY_NAME[name].env].strip()
        and not (options or {}).get(name)
    ]
    if blank:
        raise SettingsError(
            f"{' and '.join(blank)} {'is' if len(blank) == 1 else 'are'} set but empty "
            "(a CI secret that is not set?): give the target's value, or unset it"
        )


def _layers(
    options: Mapping[str, Any], env: Mapping[str, str], pyproject: Mapping[str, Any]
) -> list[tuple[str, Callable[[Setting], Any]]]:
    return [
        ("command line", lambda s: options.get(s.name)),
        ("environment", lambda s: env.get(s.env) or None),
        ("pyproject.toml [tool.flowprobe]", lambda s: pyproject.get(s.name)),
    ]


def _convert(setting: Setting, raw: Any, source: str) -> Any:
    where = f"{setting.env}" if source == "environment" else setting.option
    if source.startswith("pyproject"):
        where = f"{setting.name} in [tool.flowprobe]"
    try:
        # Numbers from TOML are checked too: str() then parse keeps one path for every layer;
        # a TOML table (tweaks) becomes the JSON text the environment would carry; any other
        # TOML array or table is a mistake, not text.
        if (isinstance(raw, list) and not setting.many) or (
            isinstance(raw, dict) and setting.parse is not _tweaks_object
        ):
            raise ValueError("must be a single value, not a TOML array or table")
        text = json.dumps(raw) if isinstance(raw, dict | list) else str(raw)
        value = setting.parse(text)
    except ValueError as exc:
        shown = REDACTED if setting.secret else repr(raw)
        raise SettingsError(f"{where}={shown} is not valid: {exc}") from None
    if setting.choices and value not in setting.choices:
        shown = REDACTED if setting.secret else repr(raw)
        raise SettingsError(f"{where}={shown} is not one of: {', '.join(setting.choices)}")
    return value


def load_settings(
    options: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    pyproject: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every setting from the given layers, highest precedence first."""
    env = os.environ if env is None else env
    pyproject = read_pyproject() if pyproject is None else pyproject
    unknown = sorted(set(pyproject) - set(BY_NAME))
    if unknown:
        raise SettingsError(
            f"[tool.flowprobe] has unknown keys {unknown}; known keys: {sorted(BY_NAME)}"
        )
    refuse_blank_target(env, options)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        for source, lookup in _layers(options or {}, env, pyproject):
            raw = lookup(setting)
            if raw is not None and raw != "":
                values[setting.name] = _convert(setting, raw, source)
                sources[setting.name] = source
                break
        else:
            if setting.name in DEFAULTS:
                values[setting.name] = DEFAULTS[setting.name]
    if "mode" not in values:
        values["mode"] = "live" if values.get("base_url") else "replay"
    return Settings(values=values, sources=sources)
