"""Load-run summaries and stored baselines as files, and the settings two runs must share.

A baseline file is ``{"flowprobe_baseline": 1, "saved_at": ..., "from": ..., "summary": {...}}``
where the summary is the one ``flowprobe load`` wrote, with secrets scrubbed again. Summaries
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
from flowprobe.redaction import redact, scrub_value

BASELINE_FORMAT = 1
_REQUIRED = ("duration_s", "requests", "failures", "metrics_ms", "settings")
# Output paths, secrets and validity limits do not change what a run measures.
IGNORED_SETTINGS = frozenset(
    {
        "flowprobe.api_key",
        "flowprobe.cassette_dir",
        "flowprobe.findings_baseline",
        "flowprobe.mode",
        "load.summary",
        "load.max_error_rate",
        "load.max_cpu_percent",
        "load.max_missed_ratio",
    }
)
_ENTRY_FIELDS = ("count", "p50", "p90", "p95", "p99", "min", "max")
_UNRECORDED = object()


def unwrap(document: Mapping[str, Any]) -> dict[str, Any]:
    """The load summary inside a baseline file, or the document itself if it is a summary."""
    inner = document.get("summary") if "flowprobe_baseline" in document else document
    return dict(inner) if isinstance(inner, Mapping) else {}


def read_summary(path: Path, what: str = "--run") -> dict[str, Any]:
    """A load summary (or the summary inside a baseline file); one clear error otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SummaryFileError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SummaryFileError(f"{what} file {path} is not readable JSON: {exc}") from None
    summary = unwrap(document) if isinstance(document, dict) else {}
    problem = _malformed(summary)
    if problem:
        raise SummaryFileError(
            f"{what} file {path} is not a flowprobe load summary ({problem}); give the "
            "<scenario>_summary.json that `flowprobe load` wrote, or a saved baseline"
        )
    return summary


def _malformed(summary: Mapping[str, Any]) -> str:
    """What keeps ``summary`` from being compared, or "" if nothing does."""
    missing = [key for key in _REQUIRED if key not in summary]
    if missing:
        return "no " + ", ".join(missing)
    numbers = [summary[k] for k in ("duration_s", "requests", "failures")]
    if not all(isinstance(n, int | float) for n in numbers) or summary["duration_s"] <= 0:
        return "duration_s, requests and failures must be numbers"
    if not isinstance(summary["metrics_ms"], Mapping) or not isinstance(
        summary["settings"], Mapping
    ):
        return "metrics_ms and settings must be objects"
    for name, entry in summary["metrics_ms"].items():
        fields = [entry.get(k) for k in _ENTRY_FIELDS] if isinstance(entry, Mapping) else [None]
        if not all(isinstance(f, int | float) for f in fields):
            return f"metrics_ms.{name} lacks one of {', '.join(_ENTRY_FIELDS)}"
    return ""


def save_baseline(run: Path, out: Path) -> dict[str, Any]:
    """Store a valid run's summary as a baseline at ``out``; secrets are scrubbed first."""
    summary = read_summary(run, "--run")
    if summary.get("valid") is False or not summary.get("requests"):
        reasons = "; ".join(summary.get("reasons") or ["no call completed"])
        raise RunsNotComparable(f"{run} cannot be a baseline: {reasons}")
    document = {
        "flowprobe_baseline": BASELINE_FORMAT,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "from": run.name,
        # Settings only: metric names such as time_to_first_token look like secret fields.
        "summary": {**summary, "settings": scrub_value(summary["settings"])},
    }
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    text = redact(text, (os.environ.get("FLOWPROBE_API_KEY"),))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return document


def _flatten(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``section.name: value``; a value that is itself an object (tweaks) stays whole."""
    flat: dict[str, Any] = {}
    for section, values in settings.items():
        if isinstance(values, Mapping):
            flat.update({f"{section}.{name}": value for name, value in values.items()})
        else:
            flat[section] = values
    return flat


def differing_settings(baseline: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    """``name: baseline value -> run value`` for every setting that differs (not secrets)."""
    before, after = _flatten(baseline.get("settings", {})), _flatten(run.get("settings", {}))
    differences = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, _UNRECORDED), after.get(name, _UNRECORDED)
        if name in IGNORED_SETTINGS or old == new or _UNRECORDED in (old, new):
            continue
        differences.append(f"{name}: {json.dumps(old)} -> {json.dumps(new)}")
    return differences


def unrecorded_settings(baseline: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    """Settings one run recorded and the other (an older summary) did not."""
    before, after = _flatten(baseline.get("settings", {})), _flatten(run.get("settings", {}))
    return sorted((before.keys() ^ after.keys()) - IGNORED_SETTINGS)


def samples_of(entry: Mapping[str, Any], *, upper: bool) -> tuple[Samples, bool]:
    """An entry's samples and whether they are exact (its histogram) or rebuilt (wider)."""
    histogram = entry.get("histogram")
    if isinstance(histogram, Mapping) and histogram:
        return Samples.from_counts({float(k): int(v) for k, v in histogram.items()}), True
    return Samples.from_counts(_rebuilt(entry, upper=upper)), False


def _rebuilt(entry: Mapping[str, Any], *, upper: bool) -> dict[float, int]:
    """Samples from percentiles alone: between two known ranks, every sample takes the value
    of the known rank above (``upper``, for a baseline) or below (for a new run)."""
    count = int(entry["count"])
    # locust's pNN is the sample at rank floor(count * NN / 100) + 1.
    known = [(1, float(entry["min"]))]
    known += [
        (min(int(count * q / 100) + 1, count), float(entry[f"p{q}"])) for q in (50, 90, 95, 99)
    ]
    known.append((count, float(entry["max"])))
    counts: dict[float, int] = {}
    for (rank, value), (next_rank, next_value) in pairwise(known):
        counts[value] = counts.get(value, 0) + (0 if upper else next_rank - rank)
        counts[next_value] = counts.get(next_value, 0) + (next_rank - rank if upper else 0)
    first, last = known[0][1], known[-1][1]
    extra = first if upper else last  # the one rank the spans above leave out
    counts[extra] = counts.get(extra, 0) + 1
    return counts
