"""`flowprobe baseline save` and `flowprobe gate`: verdicts, noise, refusals, exit status.

The summaries in tests/gate/ were written by `flowprobe load` against the local Langflow
(streaming, open loop at 2 calls/s for 50 s): a baseline, a healthy repeat, and a run with the
stub LLM's first-token delay raised from 50 to 250 ms. Synthetic samples test the statistics.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.errors import RunsNotComparable
from flowprobe.gate import Thresholds, compare
from flowprobe.gate.baseline import read_summary
from flowprobe.gate.noise import Samples, quantile_lower, quantile_upper, regression_confidence
from flowprobe.gate.thresholds import Threshold, from_options
from flowprobe.load.summary import LoadSummary

DATA = Path(__file__).resolve().parent / "gate"


def load(name: str) -> LoadSummary:
    return read_summary(DATA / f"{name}.json")


def document(name: str) -> dict[str, Any]:
    """The summary ``name`` as JSON, to edit and read back with :func:`parsed`."""
    return load(name).to_json()


def parsed(edited: dict[str, Any]) -> LoadSummary:
    return LoadSummary.from_json(edited)


def without_histograms(summary: LoadSummary) -> LoadSummary:
    """The summary as flowprobe wrote it before histograms were kept."""
    old = summary.to_json()
    for entry in old["metrics_ms"].values():
        entry.pop("histogram")
    for key in ("format", "tokens"):
        old.pop(key)
    old["settings"].pop("run")
    return parsed(old)


def test_a_slowed_first_token_fails_naming_metric_values_and_threshold() -> None:
    result = compare(load("baseline"), load("slowed"))
    assert not result.passed
    failed = {c.name: c for c in result.failures()}
    assert "time_to_first_token.p50" in failed
    ttft = failed["time_to_first_token.p50"]
    assert ttft.new > ttft.limit > ttft.baseline
    assert ttft.confidence >= 0.95
    reason = next(r for r in result.reasons() if r.startswith("p50 time_to_first_token"))
    assert f"{ttft.baseline:.0f} ms -> {ttft.new:.0f} ms" in reason
    assert "threshold +20 % and +50 ms" in reason
    assert "regression with" in reason
    assert "confidence" in reason
    # The stub slowed only the first token: the gaps between tokens did not regress.
    assert "inter_token_latency.p50" not in failed


def test_a_healthy_repeat_passes() -> None:
    result = compare(load("baseline"), load("healthy"))
    assert result.passed, result.reasons()


def test_a_run_passes_against_itself_with_no_confidence_of_regression() -> None:
    result = compare(load("baseline"), load("baseline"))
    assert result.passed
    assert all(c.verdict == "pass" and c.confidence == 0 for c in result.comparisons)


def test_a_rise_within_the_noise_is_unproven_not_a_regression() -> None:
    """Same samples, but the run's p99 moved past its threshold: too few samples to prove it."""
    run = document("baseline")
    entry = run["metrics_ms"]["time_to_first_token"]
    entry["p99"] = entry["p99"] * 2 + 200
    result = compare(load("baseline"), parsed(run))
    found = next(c for c in result.comparisons if c.name == "time_to_first_token.p99")
    assert found.verdict == "unproven"
    assert "too few samples" in found.note
    assert result.passed


def test_the_absolute_floor_keeps_small_wobbles_of_fast_metrics_passing() -> None:
    baseline = load("baseline")
    edited = document("baseline")
    entry = edited["metrics_ms"]["inter_token_latency"]
    entry["histogram"] = {str(float(k) * 2): v for k, v in entry["histogram"].items()}
    entry["p50"] *= 2  # +100 %, but 7 ms: below the 10 ms floor
    run = parsed(edited)
    found = {c.name: c for c in compare(baseline, run).comparisons}
    assert found["inter_token_latency.p50"].verdict == "pass"
    tight = Thresholds({"inter_token_latency": Threshold(relative=0.2, absolute=1.0)})
    found = {c.name: c for c in compare(baseline, run, tight).comparisons}
    assert found["inter_token_latency.p50"].verdict == "regression"


def test_thresholds_override_by_metric_and_percentile() -> None:
    loose = Thresholds(from_options(("time_to_first_token=500%,1000",)))
    result = compare(load("baseline"), load("slowed"), loose)
    assert not any(c.name.startswith("time_to_first_token") for c in result.failures())
    one = Thresholds(
        from_options(("time_to_first_token=500%,1000", "time_to_first_token.p50=20%,50"))
    )
    failed = [c.name for c in compare(load("baseline"), load("slowed"), one).failures()]
    assert "time_to_first_token.p50" in failed
    assert "time_to_first_token.p90" not in failed


def test_different_settings_are_refused_listing_each_difference() -> None:
    run = document("healthy")
    run["settings"]["run"]["users"] = 16
    run["settings"]["load"]["tweaks"] = {"OpenAI-1": {"temperature": 0.9}}
    run["settings"]["load"]["summary"] = "/elsewhere/summary.json"  # an output path: ignored
    with pytest.raises(RunsNotComparable) as caught:
        compare(load("baseline"), parsed(run))
    assert caught.value.differences == [
        'load.tweaks: {} -> {"OpenAI-1": {"temperature": 0.9}}',
        "run.users: 8 -> 16",
    ]


def test_an_invalid_run_is_refused() -> None:
    run = document("healthy")
    run["valid"] = False
    run["reasons"] = ["run invalid: load generator CPU reached 97%"]
    with pytest.raises(RunsNotComparable, match="CPU reached 97%"):
        compare(load("baseline"), parsed(run))


def test_a_summary_without_histograms_is_read_with_lower_confidence() -> None:
    full = compare(load("baseline"), load("slowed"))
    old = compare(without_histograms(load("baseline")), load("slowed"))  # an old baseline
    assert any("confidence is lower" in note for note in old.notes)
    assert any("not compared: run.run_time_s" in note for note in old.notes)
    sure = {c.name: c.confidence for c in full.comparisons}
    assert all(c.confidence <= sure[c.name] + 1e-9 for c in old.comparisons)
    assert all(c.verdict != "regression" or c.name in sure for c in old.comparisons)
    # Bounds rebuilt from five percentiles are wide: only a gross slowdown is proven.
    slower = document("baseline")
    for entry in slower["metrics_ms"].values():
        entry.update({k: entry[k] * 10 for k in ("p50", "p90", "p95", "p99", "min", "max")})
    gross = compare(without_histograms(load("baseline")), without_histograms(parsed(slower)))
    assert "time_to_first_token.p50" in {c.name for c in gross.failures()}


def test_the_reports_carry_every_comparison(tmp_path: Path) -> None:
    result = compare(load("baseline"), load("slowed"))
    data = json.loads(result.to_json())
    assert data["passed"] is False
    assert data["reasons"] == result.reasons()
    assert len(data["comparisons"]) == len(result.comparisons)
    table = result.to_markdown()
    assert "| p50 time_to_first_token |" in table
    assert table.count("| regression |") == len(result.failures())


# -- the statistics on synthetic samples


def _rounded(values: list[float]) -> Samples:
    counts: dict[float, int] = {}
    for value in values:
        counts[round(value)] = counts.get(round(value), 0) + 1
    return Samples.from_counts(counts)


def _declared(before: Samples, after: Samples, p: float, threshold: Threshold) -> float:
    return regression_confidence(
        lambda s: quantile_lower(after, p, s) > threshold.limit(quantile_upper(before, p, s))
    )


def test_identical_distributions_rarely_look_like_a_regression() -> None:
    generator = random.Random(7)
    none = Threshold(relative=0.0, absolute=0.0)  # noise alone decides
    draws = [
        (
            _rounded([generator.lognormvariate(5.5, 0.4) for _ in range(100)]),
            _rounded([generator.lognormvariate(5.5, 0.4) for _ in range(100)]),
        )
        for _ in range(200)
    ]
    false_alarms = sum(_declared(a, b, 0.5, none) >= 0.95 for a, b in draws)
    assert false_alarms <= 10  # at most 5 % of 200


def test_a_real_shift_is_found_and_a_small_sample_cannot_prove_a_tail() -> None:
    generator = random.Random(11)
    before = _rounded([generator.lognormvariate(5.5, 0.3) for _ in range(100)])
    after = _rounded([generator.lognormvariate(5.5 + math.log(1.6), 0.3) for _ in range(100)])
    threshold = Threshold(relative=0.2, absolute=50)
    assert _declared(before, after, 0.5, threshold) >= 0.95
    # 100 samples bound a p99 from above with at most 1 - 0.99**100 = 63 % probability.
    assert _declared(before, after, 0.99, threshold) <= (1 - 0.99**100) ** 2 + 1e-9


# -- the commands


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_gate_command_exit_status_and_files(tmp_path: Path) -> None:
    saved = tmp_path / "baselines" / "stream.json"
    done = invoke("baseline", "save", "--run", str(DATA / "baseline.json"), "--out", str(saved))
    assert done.exit_code == 0, done.output
    assert json.loads(saved.read_text())["flowprobe_baseline"] == 1
    run = read_summary(DATA / "baseline.json")
    assert (
        f"baseline saved to {saved}: {run.requests} calls over {run.duration_s:.0f} s, "
        f"{len(run.metrics_ms)} metrics"
    ) in done.output
    healthy = invoke("gate", "--baseline", str(saved), "--run", str(DATA / "healthy.json"))
    assert healthy.exit_code == 0, healthy.output
    assert healthy.output.startswith("gate passed")
    out_json, out_md = tmp_path / "gate.json", tmp_path / "gate.md"
    slowed = invoke(
        "gate", "--baseline", str(saved), "--run", str(DATA / "slowed.json"),
        "--json", str(out_json), "--markdown", str(out_md),
    )  # fmt: skip
    assert slowed.exit_code == 1, slowed.output
    assert "REGRESSION" in slowed.output
    assert "p50 time_to_first_token" in slowed.output
    assert json.loads(out_json.read_text())["passed"] is False
    assert "| metric |" in out_md.read_text()


def test_baseline_save_scrubs_secrets_from_tweaks(tmp_path: Path, monkeypatch) -> None:
    run = document("baseline")
    run["settings"]["load"]["tweaks"] = {"OpenAI-1": {"api_key": "sk-live-abcdefghijkl"}}
    run["settings"]["target"] += " sentinel-key-123"
    source = tmp_path / "run.json"
    source.write_text(json.dumps(run))
    monkeypatch.setenv("FLOWPROBE_API_KEY", "sentinel-key-123")
    out = tmp_path / "b.json"
    assert invoke("baseline", "save", "--run", str(source), "--out", str(out)).exit_code == 0
    text = out.read_text()
    assert "sk-live" not in text
    assert "sentinel-key-123" not in text


def test_an_invalid_run_cannot_become_a_baseline(tmp_path: Path) -> None:
    run = document("baseline")
    run.update(valid=False, reasons=["run invalid: 3% of arrivals were missed"])
    source = tmp_path / "run.json"
    source.write_text(json.dumps(run))
    done = invoke("baseline", "save", "--run", str(source), "--out", str(tmp_path / "b.json"))
    assert done.exit_code == 2
    assert "arrivals were missed" in done.output
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not readable JSON"),
        ('["a", "list"]', "is not a flowprobe load summary"),
        ('{"requests": 3}', "is not a flowprobe load summary"),
    ],
)
def test_missing_or_malformed_files_exit_2_in_one_sentence(
    tmp_path: Path, content: str | None, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for args in (
        ("gate", "--baseline", str(bad), "--run", str(DATA / "healthy.json")),
        ("gate", "--baseline", str(DATA / "baseline.json"), "--run", str(bad)),
        ("baseline", "save", "--run", str(bad), "--out", str(tmp_path / "b.json")),
    ):
        done = invoke(*args)
        assert done.exit_code == 2, done.output
        assert message in done.output
        assert "Traceback" not in done.output
        assert len(done.output.strip().splitlines()) == 1


def test_different_settings_exit_2_naming_them(tmp_path: Path) -> None:
    run = document("healthy")
    run["settings"]["flowprobe"]["flow"] = "another-flow"
    source = tmp_path / "run.json"
    source.write_text(json.dumps(run))
    done = invoke("gate", "--baseline", str(DATA / "baseline.json"), "--run", str(source))
    assert done.exit_code == 2
    assert 'flowprobe.flow: "flowprobe-basic-prompting" -> "another-flow"' in done.output


def test_bad_thresholds_exit_2(tmp_path: Path) -> None:
    thresholds = tmp_path / "t.json"
    thresholds.write_text('{"time_to_first_token.p95": {"relative": -1, "absolute": 0}}')
    base = ("gate", "--baseline", str(DATA / "baseline.json"), "--run", str(DATA / "healthy.json"))
    assert invoke(*base, "--thresholds", str(thresholds)).exit_code == 2
    assert invoke(*base, "--threshold", "nonsense").exit_code == 2
    assert invoke(*base, "--threshold", "ttft=20%,50").exit_code == 2
    file_override = tmp_path / "ok.json"
    file_override.write_text(
        '{"time_to_first_token": {"relative": 5, "absolute": 1000}, "end_to_end.p99": "50%,200"}'
    )
    slowed = ("gate", "--baseline", str(DATA / "baseline.json"), "--run", str(DATA / "slowed.json"))
    done = invoke(*slowed, "--thresholds", str(file_override))
    assert done.exit_code == 0, done.output  # its only regression was the first token's
    assert invoke(*slowed).exit_code == 1


def test_the_stored_baseline_reads_as_the_run_it_was_saved_from() -> None:
    stored = DATA.parent.parent / "loadtests" / "baselines" / "local-stream-open-2rps.json"
    result = compare(read_summary(stored, "--baseline"), load("baseline"))
    assert all(c.verdict == "pass" and c.confidence == 0 for c in result.comparisons)


def test_a_baseline_from_another_address_is_compared_and_both_addresses_are_named() -> None:
    run = document("healthy")
    run["settings"]["flowprobe"]["base_url"] = "https://candidate.example.com"
    run["settings"]["target"] = run["settings"]["target"].replace(
        "http://127.0.0.1:7860", "https://candidate.example.com"
    )
    result = compare(load("baseline"), parsed(run))
    assert result.passed
    assert (
        "baseline made against http://127.0.0.1:7860; this run against "
        "https://candidate.example.com"
    ) in result.notes
    assert "https://candidate.example.com" in result.to_text()
    assert (
        "both runs made against http://127.0.0.1:7860"
        in compare(load("baseline"), load("healthy")).notes
    )


@pytest.mark.parametrize(
    ("section", "name", "value", "shown"),
    [
        ("run", "users", 4, "run.users: 8 -> 4"),
        ("load", "arrival_rate", 5.0, "load.arrival_rate: 2.0 -> 5.0"),
        ("run", "user_classes", ["StreamClosedLoop"], 'run.user_classes: ["StreamOpenLoop"]'),
        ("run", "user_classes", ["RunOpenLoop"], '-> ["RunOpenLoop"]'),
        ("load", "input", "a longer question", 'load.input: "hello" -> "a longer question"'),
        ("flowprobe", "flow", "other", 'flowprobe.flow: "flowprobe-basic-prompting" -> "other"'),
        ("load", "think_time", [1.0, 2.0], "load.think_time"),
    ],
)
def test_a_baseline_of_another_shape_is_refused_naming_the_field(
    section: str, name: str, value: Any, shown: str
) -> None:
    before, run = document("baseline"), document("healthy")
    before["settings"]["load"]["think_time"] = run["settings"]["load"]["think_time"] = [0.5, 1]
    run["settings"][section][name] = value
    run["settings"]["flowprobe"]["base_url"] = "https://candidate.example.com"  # never a reason
    with pytest.raises(RunsNotComparable, match="shape differs") as caught:
        compare(parsed(before), parsed(run))
    assert len(caught.value.differences) == 1
    assert shown in caught.value.differences[0]


def test_gate_command_compares_a_run_at_another_address_and_names_both(tmp_path: Path) -> None:
    run = document("healthy")
    run["settings"]["flowprobe"]["base_url"] = "https://candidate.example.com"
    source = tmp_path / "run.json"
    source.write_text(json.dumps(run))
    done = invoke("gate", "--baseline", str(DATA / "baseline.json"), "--run", str(source))
    assert done.exit_code == 0, done.output
    assert (
        "note: baseline made against http://127.0.0.1:7860; this run against "
        "https://candidate.example.com"
    ) in done.output
