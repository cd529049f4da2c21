"""The running progress of `flowprobe load`: a rewritten line on a terminal, plain lines in a log,
and never the numbers an earlier run left behind."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.commands import common
from flowprobe.load import launch
from flowprobe.load.launch import LaunchPlan, progress_line

STATS = """Type,Name,Request Count,Failure Count,Requests/s
POST,/api/v1/run/ok?stream=true,12,1,2.5
,Aggregated,12,1,2.5
"""
METRICS = """Type,Name,Request Count,50%
METRIC,time_to_first_token,12,36
"""


class _Stderr(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_a_terminal_gets_one_line_rewritten_in_place(monkeypatch) -> None:
    err = _Stderr(tty=True)
    monkeypatch.setattr(sys, "stderr", err)
    common.progress("    1s  requests 0")
    common.progress("    2s  requests 3")
    assert err.getvalue() == "\r    1s  requests 0\x1b[K\r    2s  requests 3\x1b[K"
    assert launch.progress_interval() == launch.PROGRESS_TTY_EVERY_S == 1.0


def test_a_log_gets_plain_lines_every_ten_seconds(monkeypatch) -> None:
    err = _Stderr(tty=False)
    monkeypatch.setattr(sys, "stderr", err)
    common.progress("    1s  requests 0")
    common.progress("   11s  requests 3")
    assert err.getvalue() == "    1s  requests 0\n   11s  requests 3\n"
    assert "\r" not in err.getvalue()
    assert launch.progress_interval() == launch.PROGRESS_LOG_EVERY_S == 10.0


def test_the_line_counts_calls_and_reads_ttft_from_flowprobes_metrics(tmp_path: Path) -> None:
    (tmp_path / "s_stats.csv").write_text(STATS)
    (tmp_path / "s_metrics.csv").write_text(METRICS)
    line = progress_line(tmp_path / "s_stats.csv", 5.0, tmp_path / "s_metrics.csv")
    assert line == "    5s  requests 12  failures 1  req/s 2.50  ttft p50 36 ms"


def test_before_any_file_the_line_says_it_waits(tmp_path: Path) -> None:
    line = progress_line(tmp_path / "none_stats.csv", 0.0, tmp_path / "none_metrics.csv")
    assert line == "    0s  requests 0 (waiting for the first answers)"


def test_an_earlier_runs_outputs_are_removed_before_a_run(tmp_path: Path) -> None:
    plan = LaunchPlan(out=tmp_path)
    stale = [tmp_path / f"stream{suffix}" for suffix in launch.OUTPUTS]
    for path in stale:
        path.write_text(STATS)
    (tmp_path / "other_stats.csv").write_text(STATS)
    plan.remove_stale_outputs()
    assert [path for path in stale if path.exists()] == []
    assert (tmp_path / "other_stats.csv").exists()  # another prefix's run is not ours to touch
    assert progress_line(plan.stats_csv, 0.0, plan.metrics_csv).endswith(
        "(waiting for the first answers)"
    )


def test_processes_reach_locust() -> None:
    command = LaunchPlan(processes=2).command()
    assert command[command.index("--processes") + 1] == "2"
    assert "--processes" not in LaunchPlan().command()


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_processes_below_one_are_refused(value) -> None:
    result = CliRunner().invoke(cli, ["load", "--processes", value])
    assert result.exit_code == 2
    assert "--processes" in result.output
