"""Values a setting refuses, from every layer, with one line that names where it came from."""

from __future__ import annotations

import pytest

from flowprobe.errors import SettingsError
from flowprobe.settings import load_settings
from flowprobe.target import Target


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "0", "-3"])
def test_a_timeout_must_be_positive_and_finite(text: str) -> None:
    with pytest.raises(SettingsError, match=r"FLOWPROBE_TIMEOUT='.*' is not valid"):
        load_settings(env={"FLOWPROBE_TIMEOUT": text}, pyproject={})
    with pytest.raises(SettingsError, match=r"timeout in \[tool.flowprobe\]"):
        load_settings(env={}, pyproject={"timeout": text})


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}])
def test_a_toml_array_or_table_is_not_a_folder(value: object) -> None:
    with pytest.raises(SettingsError, match="not a TOML array or table"):
        load_settings(env={}, pyproject={"cassette_dir": value})


def test_tweaks_may_be_a_toml_table_and_are_never_shown() -> None:
    tweaks = {"Agent-1": {"api_key": "sk-secret-value"}}
    assert load_settings(env={}, pyproject={"tweaks": tweaks}).get("tweaks") == tweaks
    with pytest.raises(SettingsError) as refused:
        load_settings(env={"FLOWPROBE_TWEAKS": '["sk-secret-value"]'}, pyproject={})
    assert "sk-secret-value" not in str(refused.value)


@pytest.mark.parametrize("flow", [".", "..", " ", "a/b"])
def test_a_flow_that_url_normalisation_would_resolve_away_is_refused(flow: str) -> None:
    with pytest.raises(SettingsError, match="is not a flow id or endpoint name"):
        Target(base_url="http://127.0.0.1:1", flow=flow, api_key="k")
