"""Compare a load run with a baseline: a regression must exceed its threshold AND the noise.

Python API, used by ``flowprobe gate`` and reusable by other commands::

    from flowprobe.gate.compare import compare
    from flowprobe.gate.baseline import read_summary
    result = compare(read_summary(Path("loadtests/baselines/stream.json"), "--baseline"),
                     read_summary(Path(".flowprobe/load/stream_summary.json")))
    result.passed            # False when any metric regressed or went missing
    result.reasons()         # one sentence per failure: metric, baseline, new, threshold, sureness
    result.to_markdown(); result.to_json(); result.to_text()

:func:`compare` raises :class:`~flowprobe.errors.RunsNotComparable` when the runs were made
with a different shape (users, rate, arrivals, input, flow, streaming: every recorded setting
but the address, output paths, secrets and limits) or the new run is invalid; a baseline made
against another base URL is compared, and the result's notes name both addresses. How sure a
verdict is comes from :mod:`flowprobe.gate.noise`; thresholds from
:mod:`flowprobe.gate.thresholds`.
"""

from __future__ import annotations

from flowprobe.errors import RunsNotComparable
from flowprobe.gate.baseline import (
    addresses,
    differing_settings,
    samples_of,
    unrecorded_settings,
)
from flowprobe.gate.noise import (
    proportion_bounds,
    quantile_lower,
    quantile_upper,
    rate_bounds,
    regression_confidence,
    samples_needed,
)
from flowprobe.gate.result import Comparison, GateResult
from flowprobe.gate.thresholds import DEFAULTS, LOWER_IS_WORSE, Threshold, Thresholds
from flowprobe.load.summary import LoadSummary

__all__ = ["compare"]

DEFAULT_CONFIDENCE = 0.95


def compare(
    baseline: LoadSummary,
    run: LoadSummary,
    thresholds: Thresholds | None = None,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> GateResult:
    """Every gated metric of ``run`` against ``baseline`` (read by
    :func:`~flowprobe.gate.baseline.read_summary`)."""
    _check_comparable(baseline, run)
    thresholds = thresholds or Thresholds()
    found = (_compare_one(name, baseline, run, thresholds, confidence) for name in DEFAULTS)
    comparisons = tuple(c for c in found if c is not None)
    notes = _notes(baseline, run, comparisons)
    return GateResult(comparisons=comparisons, confidence=confidence, notes=notes)


def _check_comparable(baseline: LoadSummary, run: LoadSummary) -> None:
    differences = differing_settings(baseline, run)
    if differences:
        raise RunsNotComparable(
            "the run's shape differs from the baseline's, so their timings cannot be compared: "
            + "; ".join(differences),
            differences,
        )
    if not run.valid:
        raise RunsNotComparable(
            "the run is invalid, so its timings cannot be trusted: " + "; ".join(run.reasons)
        )


def _notes(
    baseline: LoadSummary, run: LoadSummary, comparisons: tuple[Comparison, ...]
) -> tuple[str, ...]:
    before, after = addresses(baseline, run)
    notes = [
        f"baseline made against {before}; this run against {after}"
        if before != after
        else f"both runs made against {after}"
    ]
    unrecorded = unrecorded_settings(baseline, run)
    if unrecorded:
        notes.append(
            "settings recorded by only one of the runs (an older summary), not compared: "
            + ", ".join(unrecorded)
        )
    if any(not c.exact for c in comparisons):
        notes.append(
            "some samples were rebuilt from recorded percentiles (a summary without "
            "histograms): their bounds are wider, so the confidence is lower"
        )
    return tuple(notes)


def _compare_one(
    name: str, baseline: LoadSummary, run: LoadSummary, thresholds: Thresholds, level: float
) -> Comparison | None:
    threshold = thresholds.for_metric(name)
    if name == "error_rate":
        return _error_rate(baseline, run, threshold, level)
    if name in LOWER_IS_WORSE:
        return _rate(name, baseline, run, threshold, level)
    return _percentile(name, baseline, run, threshold, level)


def _verdict(new: float, limit: float, sureness: float, level: float, lower: bool) -> str:
    beyond = new < limit if lower else new > limit
    if not beyond:
        return "pass"
    return "regression" if sureness >= level else "unproven"


def _percentile(
    name: str, baseline: LoadSummary, run: LoadSummary, threshold: Threshold, level: float
) -> Comparison | None:
    metric, percentile = name.split(".")
    before = baseline.metrics_ms.get(metric)
    after = run.metrics_ms.get(metric)
    if before is None:
        return None  # not measured in this scenario (no tokens in a non-streaming run)
    old = float(before.percentile(percentile))
    limit = threshold.limit(old)
    if after is None:
        return Comparison.missing(name, "ms", old, threshold, limit)
    p = int(percentile[1:]) / 100
    old_samples, old_exact = samples_of(before, upper=True)
    new_samples, new_exact = samples_of(after, upper=False)

    def regressed_at(s: float) -> bool:
        bound = threshold.limit(quantile_upper(old_samples, p, s))
        return quantile_lower(new_samples, p, s) > bound

    sureness = regression_confidence(regressed_at)
    new = float(after.percentile(percentile))
    verdict = _verdict(new, limit, sureness, level, lower=False)
    exact = old_exact and new_exact
    fewest = min(old_samples.count, new_samples.count)
    return Comparison(
        name=name,
        unit="ms",
        baseline=old,
        new=new,
        threshold=threshold,
        limit=limit,
        verdict=verdict,
        confidence=sureness,
        exact=exact,
        samples=(old_samples.count, new_samples.count),
        note=_why_unproven(percentile, fewest, exact, level) if verdict == "unproven" else "",
    )


def _why_unproven(percentile: str, fewest: int, exact: bool, level: float) -> str:
    needed = samples_needed(int(percentile[1:]) / 100, level)
    if not exact:
        return "samples rebuilt from an older summary's percentiles"
    if fewest < needed:
        return (
            f"too few samples for a {level * 100:g} % verdict on {percentile}: needs "
            f"{needed} per run, has {fewest}"
        )
    return ""


def _events(name: str, summary: LoadSummary) -> tuple[float, float, bool]:
    """A rate's event count, its dispersion and whether both were recorded exactly."""
    if name == "requests_per_s":
        return float(summary.requests), 1.0, True
    tokens = summary.tokens
    per_call = summary.metrics_ms.get("output_tokens")
    histogram = (per_call.histogram if per_call else None) or {}
    if tokens is not None and histogram:
        squares = sum(float(k) ** 2 * v for k, v in histogram.items())
        total = sum(float(k) * v for k, v in histogram.items())
        return float(tokens), (squares / total if total else 1.0), True
    # An older summary: E[X^2]/E[X] <= max(X), so the largest answer bounds the dispersion.
    counted = float(summary.tokens_per_s) * float(summary.duration_s)
    largest = float((per_call.max if per_call else None) or 1.0)
    return counted, max(largest, 1.0), False


def _rate(
    name: str, baseline: LoadSummary, run: LoadSummary, threshold: Threshold, level: float
) -> Comparison | None:
    old_events, old_spread, old_exact = _events(name, baseline)
    new_events, new_spread, new_exact = _events(name, run)
    if old_events <= 0:
        return None  # nothing to drop from (no tokens in a non-streaming run)
    old_seconds, new_seconds = float(baseline.duration_s), float(run.duration_s)
    old, new = float(baseline.rate(name)), float(run.rate(name))
    limit = threshold.limit(old, lower_is_worse=True)

    def regressed_at(s: float) -> bool:
        old_low = rate_bounds(old_events, old_seconds, old_spread, s)[0]
        new_high = rate_bounds(new_events, new_seconds, new_spread, s)[1]
        return new_high < threshold.limit(old_low, lower_is_worse=True)

    sureness = regression_confidence(regressed_at)
    return Comparison(
        name=name,
        unit="/s",
        baseline=old,
        new=new,
        threshold=threshold,
        limit=limit,
        verdict=_verdict(new, limit, sureness, level, lower=True),
        confidence=sureness,
        exact=old_exact and new_exact,
        samples=(int(old_events), int(new_events)),
    )


def _error_rate(
    baseline: LoadSummary, run: LoadSummary, threshold: Threshold, level: float
) -> Comparison:
    old_failures, old_calls = baseline.failures, baseline.requests
    new_failures, new_calls = run.failures, run.requests
    old = old_failures / old_calls if old_calls else 0.0
    new = new_failures / new_calls if new_calls else 0.0
    limit = threshold.limit(old)

    def regressed_at(s: float) -> bool:
        old_high = proportion_bounds(old_failures, old_calls, s)[1]
        return proportion_bounds(new_failures, new_calls, s)[0] > threshold.limit(old_high)

    sureness = regression_confidence(regressed_at)
    return Comparison(
        name="error_rate",
        unit="",
        baseline=old,
        new=new,
        threshold=threshold,
        limit=limit,
        verdict=_verdict(new, limit, sureness, level, lower=False),
        confidence=sureness,
        exact=True,
        samples=(old_calls, new_calls),
    )
