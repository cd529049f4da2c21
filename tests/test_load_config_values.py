"""Load settings that would hang or skew a run are refused before locust starts."""

from __future__ import annotations

import pytest

from flowprobe.errors import SettingsError
from flowprobe.load.config import load_config


@pytest.mark.parametrize("rate", ["inf", "Infinity", "nan", "0", "-1"])
def test_an_arrival_rate_must_be_finite_and_positive(rate: str) -> None:
    with pytest.raises(SettingsError, match="FLOWPROBE_LOAD_ARRIVAL_RATE"):
        load_config({"FLOWPROBE_LOAD_ARRIVAL_RATE": rate})


@pytest.mark.parametrize("name", ["WARMUP", "MAX_ERROR_RATE", "SLO_TTFT_P95_MS"])
def test_no_figure_may_be_infinite(name: str) -> None:
    with pytest.raises(SettingsError, match="finite"):
        load_config({f"FLOWPROBE_LOAD_{name}": "inf"})


def test_a_finite_rate_is_read() -> None:
    assert load_config({"FLOWPROBE_LOAD_ARRIVAL_RATE": "2.5"}).arrival_rate == 2.5
