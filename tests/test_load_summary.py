"""The load summary as data: committed summaries read and write back unchanged, bad ones refused.

The summaries are those in tests/gate/ and the baselines in loadtests/baselines/, all written
by `flowprobe load` (and `flowprobe baseline save`) against the local Langflow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flowprobe.errors import SummaryFileError
from flowprobe.gate.baseline import read_summary
from flowprobe.load.summary import LoadSummary, Metric

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted(
    [*(ROOT / "tests" / "gate").glob("*.json"), *(ROOT / "loadtests" / "baselines").glob("*.json")]
)


def _summary_in(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    inner: dict[str, Any] = document.get("summary", document)
    return inner


def test_every_committed_summary_is_found() -> None:
    assert len(COMMITTED) >= 5


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_committed_summary_writes_back_the_same_json(path: Path) -> None:
    written = _summary_in(path)
    again = LoadSummary.from_json(written).to_json()
    # Same keys, same order, same number types: the file's own text comes back.
    assert json.dumps(again, indent=2) == json.dumps(written, indent=2)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_committed_summary_reads_as_typed_fields(path: Path) -> None:
    written = _summary_in(path)
    summary = read_summary(path, "--baseline")
    assert summary.format == 2
    assert summary.requests == written["requests"]
    assert summary.settings.run is not None
    assert list(summary.settings.run.user_classes) == written["settings"]["run"]["user_classes"]
    ttft = summary.metrics_ms["time_to_first_token"]
    assert ttft.percentile("p95") == written["metrics_ms"]["time_to_first_token"]["p95"]
    assert ttft.histogram is not None
    assert sum(ttft.histogram.values()) == ttft.count
    assert summary.passed == written["passed"]
    assert summary.reasons == tuple(written["reasons"])


def test_a_summary_from_before_histograms_writes_back_without_them() -> None:
    old = _summary_in(ROOT / "tests" / "gate" / "baseline.json")
    for entry in [*old["metrics_ms"].values(), *old["calls"].values()]:
        entry.pop("histogram")
    old["arrivals"]["lateness_ms"].pop("histogram")
    for key in ("format", "tokens"):
        old.pop(key)
    old["settings"].pop("run")
    summary = LoadSummary.from_json(old)
    assert summary.format is None
    assert summary.tokens is None
    assert summary.settings.run is None
    assert all(entry.histogram is None for entry in summary.metrics_ms.values())
    assert json.dumps(summary.to_json()) == json.dumps(old)


def test_an_entry_emptied_by_the_warm_up_reads_with_no_minimum() -> None:
    """locust resets an entry to min null, max 0: flowprobe writes that, so it must read it."""
    written = _summary_in(ROOT / "tests" / "gate" / "healthy.json")
    empty = {"count": 0, "failures": 0, "p50": 0, "p90": 0, "p95": 0, "p99": 0}
    written["metrics_ms"]["within_slo"] = {**empty, "mean": 0.0, "min": None, "max": 0}
    written["metrics_ms"]["within_slo"]["histogram"] = {}
    entry = LoadSummary.from_json(written).metrics_ms["within_slo"]
    assert entry == Metric(
        count=0, failures=0, p50=0, p90=0, p95=0, p99=0, mean=0.0, min=None, max=0, histogram={}
    )


def test_the_summary_never_shares_its_settings_with_the_document() -> None:
    written = _summary_in(ROOT / "tests" / "gate" / "healthy.json")
    summary = LoadSummary.from_json(written)
    written["settings"]["load"]["tweaks"]["OpenAI-1"] = {"temperature": 2}
    summary.to_json()["settings"]["load"]["input"] = "changed"
    assert summary.settings.load["tweaks"] == {}
    assert summary.settings.load["input"] == "hello"


def _broken(change: str) -> dict[str, Any]:
    """healthy.json with one thing wrong, described as ``key.path=JSON`` or ``-key.path``."""
    document = _summary_in(ROOT / "tests" / "gate" / "healthy.json")
    # Call names hold "=" ("?stream=true"): the value is what follows the last one.
    path, _, value = change.rpartition("=") if "=" in change else (change[1:], "", "")
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    if change.startswith("-"):
        del target[last]
    else:
        target[last] = json.loads(value)
    return document


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("-requests", "(no requests)"),
        ("duration_s=0", "(duration_s must be above 0)"),
        ('requests="98"', "(requests must be a whole number)"),
        ("valid=1", "(valid must be true or false)"),
        ("reasons=[3]", "(reasons must be a list of strings)"),
        ("metrics_ms=[]", "(metrics_ms must be an object)"),
        ("-metrics_ms.end_to_end.p95", "(no metrics_ms.end_to_end.p95)"),
        ("metrics_ms.end_to_end.max=null", "(metrics_ms.end_to_end.max must be a number)"),
        (
            'metrics_ms.end_to_end.histogram={"fast": 3}',
            "(metrics_ms.end_to_end.histogram.fast is not a number of milliseconds)",
        ),
        (
            'calls.POST /api/v1/run/flowprobe-basic-prompting?stream=true.count="9"',
            "(calls.POST /api/v1/run/flowprobe-basic-prompting?stream=true.count must be a whole",
        ),
        (
            'metrics_ms.end_to_end.histogram={"480": -5}',
            "(metrics_ms.end_to_end.histogram.480: -5 is less than the minimum of 1)",
        ),
        ('errors_by_kind.connection="1"', "(errors_by_kind.connection must be a whole number)"),
        ("-arrivals.lateness_ms", "(no arrivals.lateness_ms)"),
        ("settings.target=null", "(settings.target must be a string)"),
        ('settings.run.user_classes="StreamOpenLoop"', "must be a list of strings"),
        ("slo.met=null", "(slo.met must be true or false)"),
    ],
)
def test_a_malformed_summary_is_refused_naming_the_field(change: str, problem: str) -> None:
    with pytest.raises(SummaryFileError) as caught:
        LoadSummary.from_json(_broken(change), source="--run file run.json")
    message = str(caught.value)
    assert message.startswith("--run file run.json is not a flowprobe load summary (")
    assert problem in message
    assert "\n" not in message


def test_the_summary_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads(
        (ROOT / "src" / "flowprobe" / "load" / "summary.schema.json").read_text(encoding="utf-8")
    )
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_document_that_is_no_object_is_refused() -> None:
    with pytest.raises(SummaryFileError, match=r"the load summary .*\(the document must be an"):
        LoadSummary.from_json(["a", "list"])


def test_the_gate_still_refuses_a_metric_without_samples(tmp_path: Path) -> None:
    written = _summary_in(ROOT / "tests" / "gate" / "healthy.json")
    written["metrics_ms"]["within_slo"].update(min=None, histogram={})
    path = tmp_path / "run.json"
    path.write_text(json.dumps(written), encoding="utf-8")
    with pytest.raises(SummaryFileError, match=r"metrics_ms.within_slo lacks one of count"):
        read_summary(path, "--run")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_summary_holding_nan_or_infinity_is_refused_in_one_line(
    tmp_path: Path, constant: str
) -> None:
    document = _summary_in(COMMITTED[0])
    document["metrics_ms"]["end_to_end"]["p50"] = 1234.5678
    broken = json.dumps(document).replace("1234.5678", constant, 1)
    path = tmp_path / "run.json"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(SummaryFileError, match=f"{constant.lstrip('-')} is not a number"):
        read_summary(path)
