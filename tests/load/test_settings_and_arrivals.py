"""Load settings and the open-loop schedule: pure code, no locust in this process."""

from __future__ import annotations

import sys

import pytest

from flowprobe.errors import SettingsError
from flowprobe.load import ArrivalSchedule, load_config


def test_importing_settings_does_not_import_locust() -> None:
    assert "locust" not in sys.modules


def test_constant_schedule_spaces_slots_evenly() -> None:
    schedule = ArrivalSchedule(rate=10)
    slots = [schedule.claim(100.0).at for _ in range(3)]
    assert slots == pytest.approx([100.0, 100.1, 100.2])


def test_late_slots_are_missed_not_replayed() -> None:
    schedule = ArrivalSchedule(rate=10, tolerance=0.05)
    schedule.claim(0.0)
    claim = schedule.claim(1.0)  # nobody was free for a second: slots 0.1 .. 0.9 are gone
    assert claim.missed == 9
    assert claim.at == pytest.approx(1.0)
    assert schedule.claim(1.0).at == pytest.approx(1.1)  # no burst of catch-up slots


def test_poisson_schedule_keeps_its_mean_rate() -> None:
    schedule = ArrivalSchedule(rate=50, poisson=True, seed=3, tolerance=1e9)
    slots = [schedule.claim(0.0).at for _ in range(5000)]
    assert slots[-1] / len(slots) == pytest.approx(1 / 50, rel=0.05)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLOWPROBE_LOAD_TWEAKS", "[1]"),
        ("FLOWPROBE_LOAD_SESSION", "sometimes"),
        ("FLOWPROBE_LOAD_ARRIVAL", "bursty"),
        ("FLOWPROBE_LOAD_VALIDATE_EVERY", "-1"),
        ("FLOWPROBE_LOAD_STEPS", "2:x"),
        ("FLOWPROBE_LOAD_TYPO", "1"),
    ],
)
def test_bad_settings_are_refused_with_their_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_config({name: value})


def test_settings_are_read_from_the_environment() -> None:
    config = load_config(
        {
            "FLOWPROBE_LOAD_TWEAKS": '{"Prompt": {"template": "x"}}',
            "FLOWPROBE_LOAD_STEPS": "1:5,3:5",
        }
    )
    assert config.tweaks == {"Prompt": {"template": "x"}}
    assert config.steps == ((1, 5.0), (3, 5.0))
