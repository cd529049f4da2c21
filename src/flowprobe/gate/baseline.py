"""Load-run summaries and stored baselines as files, and the settings two runs must share.

A baseline file is ``{"flowprobe_baseline": 1, "saved_at": ..., "from": ..., "summary": {...}}``
where the summary is the one ``flowprobe load`` wrote (a
:class:`~flowprobe.load.summary.LoadSummary`), with secrets scrubbed again. Summaries
written before histograms were kept (no ``format``) are still read: their samples are rebuilt
from the recorded percentiles, pushed to the side that makes every bound wider.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from flowprobe.errors import RunsNotComparable, SummaryFileError
from flowprobe.gate.noise import Samples
from flowprobe.load.summary import LoadSummary, Metric, Settings
from flowprobe.redaction import redact, scrub_value

BASELINE_FORMAT = 1
# Where the target lives is not the run's shape: a baseline made against staging gates a run
# against a candidate at another address (both addresses are named in the result).
ADDRESS_SETTINGS = frozenset({"target", "flowprobe.base_url", "flowprobe.langflow_id"})
# Output paths, secrets, validity limits and pass/fail limits do not change what a run measures.
IGNORED_SETTINGS = ADDRESS_SETTINGS | frozenset(
    {
        "flowprobe.api_key",
        "flowprobe.cassette_dir",
        "flowprobe.findings_baseline",
        "flowprobe.mode",
        "load.summary",
        "load.max_error_rate",
        "load.max_cpu_percent",
        "load.max_missed_ratio",
        "flowprobe.thresholds",
    }
)
_ENTRY_FIELDS = ("count", "p50", "p90", "p95", "p99", "min", "max")
_GIVE = "give the <scenario>_summary.json that `flowprobe load` wrote, or a saved baseline"
_UNRECORDED = object()


def _no_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON, and no figure a load run measures can be one."""
    raise ValueError(f"{name} is not a number a load summary can hold")


def unwrap(document: Mapping[str, Any]) -> Any:
    """The load summary inside a baseline file, or the document itself if it is a summary."""
    return document.get("summary") if "flowprobe_baseline" in document else document


def read_summary(path: Path, what: str = "--run") -> LoadSummary:
    """A load summary (or the summary inside a baseline file); one clear error otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise SummaryFileError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SummaryFileError(f"{what} file {path} is not readable JSON: {exc}") from None
    source = f"{what} file {path}"
    try:
        summary = LoadSummary.from_json(
            unwrap(document) if isinstance(document, Mapping) else {}, source=source
        )
    except SummaryFileError as exc:
        raise SummaryFileError(f"{exc}; {_GIVE}") from None
    # A metric with no sample since the warm-up has no minimum: its bounds cannot be rebuilt.
    unmeasured = [name for name, entry in summary.metrics_ms.items() if entry.min is None]
    if unmeasured:
        raise SummaryFileError(
            f"{source} is not a flowprobe load summary (metrics_ms.{unmeasured[0]} lacks one "
            f"of {', '.join(_ENTRY_FIELDS)}); {_GIVE}"
        )
    return summary


def save_baseline(run: Path, out: Path) -> LoadSummary:
    """Store a valid run's summary as a baseline at ``out``, secrets scrubbed first; returns
    the summary stored."""
    summary = read_summary(run, "--run")
    if not summary.valid or not summary.requests:
        reasons = "; ".join(summary.reasons or ["no call completed"])
        raise RunsNotComparable(f"{run} cannot be a baseline: {reasons}")
    shown = summary.to_json()
    document = {
        "flowprobe_baseline": BASELINE_FORMAT,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "from": run.name,
        # Settings only: metric names such as time_to_first_token look like secret fields.
        "summary": {**shown, "settings": scrub_value(shown["settings"])},
    }
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    text = redact(text, (os.environ.get("FLOWPROBE_API_KEY"),))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return summary


def _flatten(settings: Settings) -> dict[str, Any]:
    """``section.name: value``; a value that is itself an object (tweaks) stays whole."""
    flat: dict[str, Any] = {}
    for section, values in settings.to_json().items():
        if isinstance(values, Mapping):
            flat.update({f"{section}.{name}": value for name, value in values.items()})
        else:
            flat[section] = values
    return flat


def differing_settings(baseline: LoadSummary, run: LoadSummary) -> list[str]:
    """``name: baseline value -> run value`` for every setting that differs (not secrets)."""
    before, after = _flatten(baseline.settings), _flatten(run.settings)
    differences = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, _UNRECORDED), after.get(name, _UNRECORDED)
        if name in IGNORED_SETTINGS or old == new or _UNRECORDED in (old, new):
            continue
        differences.append(f"{name}: {json.dumps(old)} -> {json.dumps(new)}")
    return differences


def addresses(baseline: LoadSummary, run: LoadSummary) -> tuple[str, str]:
    """The base URL each run was made against (its target line when it recorded none)."""

    def address(summary: LoadSummary) -> str:
        return str(summary.settings.flowprobe.get("base_url") or summary.settings.target)

    return address(baseline), address(run)


def unrecorded_settings(baseline: LoadSummary, run: LoadSummary) -> list[str]:
    """Settings one run recorded and the other (an older summary) did not."""
    before, after = _flatten(baseline.settings), _flatten(run.settings)
    return sorted((before.keys() ^ after.keys()) - IGNORED_SETTINGS)


def samples_of(entry: Metric, *, upper: bool) -> tuple[Samples, bool]:
    """An entry's samples and whether they are exact (its histogram) or rebuilt (wider)."""
    if entry.histogram:
        return Samples.from_counts(entry.histogram), True
    return Samples.from_counts(_rebuilt(entry, upper=upper)), False


def _rebuilt(entry: Metric, *, upper: bool) -> dict[float, int]:
    """Samples from percentiles alone: between two known ranks, every sample takes the value
    of the known rank above (``upper``, for a baseline) or below (for a new run)."""
    count = entry.count
    # No minimum means no sample (read_summary refuses such a metric; only a check's own run
    # can bring one): its percentiles, all 0, stand in.
    lowest = entry.p50 if entry.min is None else entry.min
    # locust's pNN is the sample at rank floor(count * NN / 100) + 1.
    known = [(1, float(lowest))]
    known += [
        (min(int(count * q / 100) + 1, count), float(entry.percentile(f"p{q}")))
        for q in (50, 90, 95, 99)
    ]
    known.append((count, float(entry.max)))
    counts: dict[float, int] = {}
    for (rank, value), (next_rank, next_value) in pairwise(known):
        counts[value] = counts.get(value, 0) + (0 if upper else next_rank - rank)
        counts[next_value] = counts.get(next_value, 0) + (next_rank - rank if upper else 0)
    first, last = known[0][1], known[-1][1]
    extra = first if upper else last  # the one rank the spans above leave out
    counts[extra] = counts.get(extra, 0) + 1
    return counts
