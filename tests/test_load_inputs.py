"""Input datasets and synthetic inputs for load runs: reading, checking, picking, bucketing."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.commands.inputs import by_input_length_table
from flowprobe.errors import SettingsError
from flowprobe.load import inputs
from flowprobe.load.config import load_config
from flowprobe.load.inputs import (
    InputRecord,
    InputSource,
    bucketed_name,
    call_input,
    fire_by_length,
    input_source,
    keep_out_of_log,
    length_bucket,
    parse_length_range,
    read_inputs,
    synthetic_text,
)
from flowprobe.load.summary import LoadSummary

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-datasetsecret0123456789"


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "inputs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_dataset_is_read_record_by_record_skipping_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '{"input_value": "first"}',
        "",
        '{"input_value": "second", "tweaks": {"Prompt-1": {"template": "t"}}, "session_id": "s2"}',
        "   ",
    )
    assert read_inputs(path) == (
        InputRecord("first"),
        InputRecord("second", {"Prompt-1": {"template": "t"}}, "s2"),
    )


BAD_LINES = [
    ("[1, 2]", "must be a JSON object, not a list"),
    ('"text"', "must be a JSON object, not a string"),
    ("{not json", "not JSON"),
    ('{"tweaks": {}}', "input_value must be a string (missing)"),
    ('{"input_value": 3}', "input_value must be a string (a number)"),
    ('{"input_value": null}', "input_value must be a string (null)"),
    ('{"input_value": "x", "tweaks": [1]}', "tweaks must be a JSON object"),
    ('{"input_value": "x", "tweaks": "k"}', "tweaks must be a JSON object"),
    ('{"input_value": "x", "tweaks": {"A": [1]}}', "tweaks['A'] must be an object of fields"),
    ('{"input_value": "x", "session_id": ""}', "session_id must be a non-empty string"),
    ('{"input_value": "x", "session_id": 5}', "session_id must be a non-empty string"),
    ('{"input_value": "x", "inputvalue": "y"}', "unknown fields ['inputvalue']"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES, ids=[b[1][:30] for b in BAD_LINES])
def test_a_bad_line_is_refused_with_its_number(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path, '{"input_value": "fine"}', "", line)
    with pytest.raises(SettingsError) as caught:
        read_inputs(path)
    assert str(caught.value).startswith(f"inputs file {path} line 3: ")
    assert reason in str(caught.value)


def test_an_error_never_quotes_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, f'{{"input_value": "x", "tweaks": {{"api_key": "{SECRET}"}}, "k": 1}}')
    with pytest.raises(SettingsError) as caught:
        read_inputs(path)
    assert "line 1" in str(caught.value)
    assert SECRET not in str(caught.value)
    path = _write(tmp_path, f"{SECRET} not json")
    with pytest.raises(SettingsError) as caught:
        read_inputs(path)
    assert SECRET not in str(caught.value)


def test_an_empty_missing_or_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no records"):
        read_inputs(_write(tmp_path, "", ""))
    with pytest.raises(SettingsError, match="cannot be read"):
        read_inputs(tmp_path / "absent.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SettingsError, match="not UTF-8"):
        read_inputs(binary)


def test_the_size_of_a_dataset_is_bounded(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path, *['{"input_value": "x"}'] * 5)
    monkeypatch.setattr(inputs, "MAX_RECORDS", 4)
    with pytest.raises(SettingsError, match="more than 4 records"):
        read_inputs(path)
    monkeypatch.setattr(inputs, "MAX_RECORDS", 5)
    assert len(read_inputs(path)) == 5
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(SettingsError, match="bytes is more than"):
        read_inputs(path)


RECORDS = tuple(InputRecord(f"input {n}") for n in range(5))


def test_cycle_takes_the_records_in_order_and_starts_again() -> None:
    source = InputSource(records=RECORDS, order="cycle")
    taken = [source.next().input_value for _ in range(12)]
    assert taken == [f"input {n % 5}" for n in range(12)]


def test_sample_is_random_and_the_seed_repeats_it() -> None:
    def draws(seed: int) -> list[str]:
        source = InputSource(records=RECORDS, order="sample", seed=seed)
        return [source.next().input_value for _ in range(200)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    counts = Counter(draws(7))
    assert set(counts) == {record.input_value for record in RECORDS}
    assert min(counts.values()) > 20  # 40 expected each: not stuck on a few records
    assert draws(7)[:5] != [r.input_value for r in RECORDS]  # not the order of the file


@pytest.mark.parametrize(("text", "bounds"), [("20-400", (20, 400)), ("50", (50, 50))])
def test_a_length_range_is_read(text: str, bounds: tuple[int, int]) -> None:
    assert parse_length_range(text) == bounds


@pytest.mark.parametrize("text", ["", "abc", "0-10", "400-20", "5-", "-5", "1-100001", "1.5-3"])
def test_a_bad_length_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="MIN-MAX"):
        parse_length_range(text)


def test_synthetic_inputs_have_a_length_drawn_uniformly_from_the_range() -> None:
    source = InputSource(length_range=(20, 40), seed=3)
    lengths = [len(source.next().input_value) for _ in range(2000)]
    assert min(lengths) == 20
    assert max(lengths) == 40
    counts = Counter(lengths)
    assert len(counts) == 21
    assert max(counts.values()) < 2 * min(counts.values())  # about 95 each: flat
    again = InputSource(length_range=(20, 40), seed=3)
    assert [len(again.next().input_value) for _ in range(2000)] == lengths


def test_synthetic_text_is_words_of_exactly_the_length() -> None:
    rng = random.Random(1)
    for length in (1, 2, 7, 99, 100, 2500):
        text = synthetic_text(length, rng)
        assert len(text) == length
        assert not text.startswith(" ")
    assert set(synthetic_text(300, rng).replace(".", "").split()) <= set(inputs._WORDS)


@pytest.mark.parametrize(
    ("length", "bucket"),
    [
        *((0, "<100"), (99, "<100"), (100, "100-499"), (499, "100-499")),
        *((500, "500-1999"), (1999, "500-1999"), (2000, ">=2000"), (10**6, ">=2000")),
    ],
)
def test_input_lengths_fall_in_their_bucket(length: int, bucket: str) -> None:
    assert length_bucket(length) == bucket
    assert bucketed_name("end_to_end", length) == f"end_to_end[input {bucket}]"


def test_a_record_brings_its_tweaks_over_the_runs_and_its_own_session() -> None:
    record = InputRecord("q", {"Model": {"temperature": 0.9}, "Prompt": {"x": 1}}, "mine")
    source = InputSource(records=(record,), order="cycle")
    run_tweaks = {"Model": {"temperature": 0.1, "model": "m"}, "Other": {"y": 2}}
    picked = call_input(source, default_input="hello", tweaks=run_tweaks, session_id="run-s")
    assert picked.input_value == "q"
    assert picked.tweaks == {
        "Model": {"temperature": 0.9, "model": "m"},
        "Other": {"y": 2},
        "Prompt": {"x": 1},
    }
    assert picked.session_id == "mine"
    plain = call_input(
        InputSource(records=(InputRecord("p"),)), default_input="x", tweaks=None, session_id="r"
    )
    assert (plain.input_value, plain.tweaks, plain.session_id) == ("p", None, "r")
    assert run_tweaks == {"Model": {"temperature": 0.1, "model": "m"}, "Other": {"y": 2}}


def test_without_a_source_every_call_sends_the_runs_input() -> None:
    picked = call_input(None, default_input="hello", tweaks={"A": {"b": 1}}, session_id="s")
    assert (picked.input_value, picked.tweaks, picked.session_id) == ("hello", {"A": {"b": 1}}, "s")
    assert picked.length == 5
    assert input_source("", "", "sample", 0) is None


def test_a_dataset_and_a_length_range_are_not_both_taken(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"input_value": "x"}')
    with pytest.raises(SettingsError, match="not both"):
        input_source(str(path), "5-10", "sample", 0)
    with pytest.raises(SettingsError, match="input length '9-1'"):
        input_source("", "9-1", "sample", 0)


def test_dataset_secrets_are_kept_out_of_the_log(caplog) -> None:
    records = (
        InputRecord("a", {"OpenAI-1": {"api_key": SECRET, "model_name": "gpt"}}),
        InputRecord("b", {"Agent": {"openai_api_key": "plain-secret-value"}}),
    )
    source = InputSource(records=records)
    assert source.secrets() == ("plain-secret-value", SECRET)
    logger = logging.getLogger("flowprobe.load.test-scrub")
    keep_out_of_log(logger, source)
    keep_out_of_log(logger, source)
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("first failure: %s", f"server said {SECRET} and plain-secret-value, gpt")
    assert caplog.messages == ["first failure: server said *** and ***, gpt"]


class _Events:
    """A measurements sink (``metrics.Sink``) that keeps what it was given."""

    def __init__(self) -> None:
        self.fired: list[dict[str, Any]] = []

    def record(self, kind: str, name: str, value: float, length: int = 0) -> None:
        self.fired.append({"request_type": kind, "name": name, "response_time": value})


def test_latency_is_fired_again_under_the_inputs_bucket() -> None:
    events = _Events()
    source = InputSource(records=RECORDS)
    fire_by_length(events, source, 150, started_at=1.0, ended_at=1.5, token_times=[1.2, 1.3])
    shown = {e["name"]: (e["request_type"], e["response_time"]) for e in events.fired}
    assert shown == {
        "end_to_end[input 100-499]": ("METRIC", pytest.approx(500)),
        "time_to_first_token[input 100-499]": ("METRIC", pytest.approx(200)),
    }
    events.fired.clear()
    fire_by_length(events, source, 5, started_at=1.0, ended_at=1.1)
    assert [e["name"] for e in events.fired] == ["end_to_end[input <100]"]
    events.fired.clear()
    fire_by_length(events, None, 5, started_at=1.0, ended_at=1.1, token_times=[1.05])
    assert events.fired == []


def _summary_with_buckets() -> LoadSummary:
    document = json.loads(
        (ROOT / "loadtests" / "baselines" / "local-stream-2u-20s.json").read_text("utf-8")
    )["summary"]
    entry = document["metrics_ms"]["end_to_end"]
    document["metrics_ms"]["end_to_end[input >=2000]"] = {**entry, "p50": 900, "p95": 1200}
    document["metrics_ms"]["end_to_end[input <100]"] = {**entry, "p50": 300, "p95": 400}
    document["metrics_ms"]["time_to_first_token[input <100]"] = {**entry, "p50": 80, "p95": 95}
    return LoadSummary.from_json(document)


def test_the_summary_shows_latency_by_input_length_in_bucket_order() -> None:
    summary = _summary_with_buckets()
    buckets = summary.by_input_length()
    assert list(buckets) == ["<100", ">=2000"]
    assert set(buckets["<100"]) == {"time_to_first_token", "end_to_end"}
    lines = by_input_length_table(summary)
    calls = str(buckets["<100"]["end_to_end"].count)
    assert lines[1].split() == ["<100", calls, "80", "95", "300", "400"]
    assert lines[2].split()[2:] == ["-", "-", "900", "1200"]
    assert LoadSummary.from_json(summary.to_json()).to_json() == summary.to_json()


def test_a_run_without_an_input_source_shows_no_bucket_table() -> None:
    document = json.loads(
        (ROOT / "loadtests" / "baselines" / "local-stream-2u-20s.json").read_text("utf-8")
    )["summary"]
    assert by_input_length_table(LoadSummary.from_json(document)) == []


def test_the_input_settings_are_load_settings() -> None:
    config = load_config(
        {
            "FLOWPROBE_LOAD_INPUTS": "/data/in.jsonl",
            "FLOWPROBE_LOAD_INPUTS_ORDER": "cycle",
            "FLOWPROBE_LOAD_INPUT_LENGTH": "20-400",
        }
    )
    assert (config.inputs, config.inputs_order, config.input_length) == (
        "/data/in.jsonl",
        "cycle",
        "20-400",
    )
    for name, value in (("INPUTS_ORDER", "shuffled"), ("INPUT_LENGTH", "big")):
        with pytest.raises(SettingsError, match=f"FLOWPROBE_LOAD_{name}"):
            load_config({f"FLOWPROBE_LOAD_{name}": value})


@pytest.fixture
def offline_target(monkeypatch) -> None:
    for name in ("FLOWPROBE_BASE_URL", "FLOWPROBE_FLOW", "FLOWPROBE_API_KEY", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FLOWPROBE_FLOW", "f")

    def no_call(env: Any) -> str:
        raise AssertionError("the pre-flight call must not be reached")

    monkeypatch.setattr("flowprobe.commands.load.preflight", no_call)


@pytest.mark.usefixtures("offline_target")
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--inputs", "{bad}"], "line 2: must be a JSON object, not a list"),
        (["--input-length", "400-20"], "input length '400-20'"),
        (["--inputs-order", "cycle"], "--inputs-order applies only to a dataset"),
        (["--inputs", "{bad}", "--input-length", "1-5"], "two input sources"),
        (["--input", "x", "--input-length", "1-5"], "--input is the one input"),
    ],
)
def test_load_refuses_bad_inputs_before_anything_runs(
    tmp_path: Path, args: list[str], said: str
) -> None:
    bad = _write(tmp_path, '{"input_value": "ok"}', "[1]")
    args = [str(bad) if arg == "{bad}" else arg for arg in args]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["load", "-t", "2", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
