"""Where each load call's input comes from: a JSONL dataset, or synthetic text of a length range.

A dataset (``FLOWPROBE_LOAD_INPUTS``) holds one JSON object per line: ``input_value`` (a
string), optional ``tweaks`` (an object, merged over the run's own tweaks for that call) and
optional ``session_id``. Blank lines are skipped; anything else that is not such an object stops
the run before it starts, naming the line. Calls take records in order (``cycle``) or at random
with the run's seed (``sample``). Synthetic inputs (``FLOWPROBE_LOAD_INPUT_LENGTH=20-400``) are
words cut to a length in characters drawn uniformly from the range.

Latency is also reported by the input's length in characters (:data:`BUCKETS`), as metrics
named ``<metric>[input <bucket>]``. Secret-looking values inside a dataset's tweaks are kept out
of the load log. This module does not import locust.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from flowprobe.errors import SettingsError
from flowprobe.load import metrics
from flowprobe.redaction import is_secret_name, scrub_text
from flowprobe.wire.client import merge_tweaks

ORDERS = ("sample", "cycle")
FIELDS = ("input_value", "session_id", "tweaks")
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_RECORDS = 200_000
MAX_SYNTHETIC_CHARS = 100_000
# Input length buckets in characters: (label, first length, first length past the bucket).
BUCKETS = (("<100", 0, 100), ("100-499", 100, 500), ("500-1999", 500, 2000), (">=2000", 2000, None))
BUCKETED = (metrics.TIME_TO_FIRST_TOKEN, metrics.END_TO_END)
_WORDS = (
    "the", "flow", "answers", "every", "question", "about", "load", "latency", "tokens", "stream",
    "model", "prompt", "chat", "output", "input", "component", "server", "client", "request",
    "response", "measure", "run", "time", "test", "value",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One call's input: the text, its own tweaks and session id (``None``: the run's)."""

    input_value: str
    tweaks: Mapping[str, Any] | None = None
    session_id: str | None = None


def read_inputs(path: str | Path) -> tuple[InputRecord, ...]:
    """Every record of a JSONL dataset; a :class:`SettingsError` naming the line that is wrong.

    Messages never quote a line: a dataset's tweaks may hold keys.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SettingsError(
                f"inputs file {path}: {size} bytes is more than the {MAX_FILE_BYTES} allowed"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingsError(f"inputs file {path}: cannot be read ({reason})") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            records.append(_record(line, f"inputs file {path} line {number}"))
        if len(records) > MAX_RECORDS:
            raise SettingsError(f"inputs file {path}: more than {MAX_RECORDS} records")
    if not records:
        raise SettingsError(f"inputs file {path}: no records (one JSON object per line)")
    return tuple(records)


def _record(line: str, where: str) -> InputRecord:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise SettingsError(f"{where}: not JSON ({str(exc).split(':')[0]})") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{where}: must be a JSON object, not {_kind(value)}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise SettingsError(f"{where}: unknown fields {unknown} (known: {', '.join(FIELDS)})")
    text = value.get("input_value")
    if not isinstance(text, str):
        found = "missing" if "input_value" not in value else _kind(text)
        raise SettingsError(f"{where}: input_value must be a string ({found})")
    tweaks = value.get("tweaks")
    if tweaks is not None:
        _check_tweaks(tweaks, where)
    session = value.get("session_id")
    if session is not None and not (isinstance(session, str) and session.strip()):
        raise SettingsError(f"{where}: session_id must be a non-empty string")
    return InputRecord(text, tweaks, session)


def _check_tweaks(tweaks: Any, where: str) -> None:
    if not isinstance(tweaks, dict):
        raise SettingsError(
            f'{where}: tweaks must be a JSON object such as {{"Prompt-abc": {{"template": "..."}}}}'
            f", not {_kind(tweaks)}"
        )
    for name, fields in tweaks.items():
        if isinstance(fields, list):
            raise SettingsError(
                f"{where}: tweaks[{name!r}] must be an object of fields or one value, not a list"
            )


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def parse_length_range(text: str) -> tuple[int, int]:
    """``"20-400"`` (or ``"50"``): the smallest and largest synthetic input, in characters."""
    low, sep, high = text.strip().partition("-")
    try:
        bounds = (int(low), int(high) if sep else int(low))
    except ValueError:
        raise ValueError("must be MIN-MAX characters, e.g. 20-400") from None
    if not 1 <= bounds[0] <= bounds[1] <= MAX_SYNTHETIC_CHARS:
        raise ValueError(f"must be MIN-MAX with 1 <= MIN <= MAX <= {MAX_SYNTHETIC_CHARS}")
    return bounds


def synthetic_text(length: int, rng: random.Random) -> str:
    """Words drawn with ``rng``, cut to exactly ``length`` characters."""
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length].rstrip().ljust(length, ".")


def length_bucket(length: int) -> str:
    """The bucket label of an input ``length`` characters long (see :data:`BUCKETS`)."""
    for label, _, past in BUCKETS:
        if past is None or length < past:
            return label
    raise AssertionError("the last bucket has no end")


def bucketed_name(metric: str, length: int) -> str:
    """The metric name that carries the input's bucket: ``end_to_end[input 100-499]``."""
    return f"{metric}[input {length_bucket(length)}]"


class InputSource:
    """Picks each call's input, shared by the users of one load process.

    ``sample`` draws with ``random.Random(seed)``; ``cycle`` walks the records in order.
    """

    def __init__(
        self,
        *,
        records: tuple[InputRecord, ...] = (),
        length_range: tuple[int, int] | None = None,
        order: str = "sample",
        seed: int = 0,
    ) -> None:
        if order not in ORDERS:
            raise SettingsError(f"inputs order {order!r}: must be one of {', '.join(ORDERS)}")
        if bool(records) == (length_range is not None):
            raise SettingsError("inputs: give either a dataset or a length range")
        self.records = records
        self.length_range = length_range
        self.order = order
        self._rng = random.Random(seed)
        self._position = count()

    def next(self) -> InputRecord:
        """The next call's input."""
        if self.length_range is not None:
            return InputRecord(synthetic_text(self._rng.randint(*self.length_range), self._rng))
        if self.order == "cycle":
            return self.records[next(self._position) % len(self.records)]
        return self._rng.choice(self.records)

    def secrets(self) -> tuple[str, ...]:
        """Secret-looking values inside the dataset's tweaks, to keep out of the log."""
        found: set[str] = set()
        for record in self.records:
            _collect_secrets(record.tweaks or {}, found, inside_secret=False)
        return tuple(sorted(found))


def _collect_secrets(value: Any, found: set[str], *, inside_secret: bool) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _collect_secrets(item, found, inside_secret=inside_secret or is_secret_name(str(key)))
    elif isinstance(value, list):
        for item in value:
            _collect_secrets(item, found, inside_secret=inside_secret)
    elif isinstance(value, str) and inside_secret and value.strip():
        found.add(value)


def input_source(inputs: str, input_length: str, order: str, seed: int) -> InputSource | None:
    """The source the settings name, or ``None`` when every call sends the ``input`` setting."""
    if inputs and input_length:
        raise SettingsError("inputs: give a dataset or an input length range, not both")
    if inputs:
        return InputSource(records=read_inputs(inputs), order=order, seed=seed)
    if input_length:
        try:
            bounds = parse_length_range(input_length)
        except ValueError as exc:
            raise SettingsError(f"input length {input_length!r}: {exc}") from None
        return InputSource(length_range=bounds, order=order, seed=seed)
    return None


class _ScrubSecrets(logging.Filter):
    """Replaces given secrets (and anything secret-looking) in a log record's message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_text(record.getMessage(), self.secrets)
        record.args = None
        return True


def keep_out_of_log(logger: logging.Logger, source: InputSource) -> None:
    """Scrub the dataset's secrets from every message of ``logger`` (once per logger)."""
    if not any(isinstance(f, _ScrubSecrets) for f in logger.filters):
        logger.addFilter(_ScrubSecrets(source.secrets()))


@dataclass(slots=True)
class CallInput:
    """What one call sends, and how long its input is."""

    input_value: str
    tweaks: Mapping[str, Any] | None
    session_id: str | None

    @property
    def length(self) -> int:
        return len(self.input_value)


def call_input(
    source: InputSource | None,
    *,
    default_input: str,
    tweaks: Mapping[str, Any] | None,
    session_id: str | None,
) -> CallInput:
    """One call's input from ``source``: its record's tweaks over the run's, its session id
    over the run's; without a source, the run's own input."""
    if source is None:
        return CallInput(default_input, tweaks, session_id)
    record = source.next()
    merged = merge_tweaks(tweaks or {}, record.tweaks) if record.tweaks else tweaks
    return CallInput(record.input_value, merged or None, record.session_id or session_id)


_UNSET = object()
_ATTRIBUTE = "flowprobe_inputs"


def process_source(environment: Any, config: Any, worker_index: int) -> InputSource | None:
    """This load process's source (one per locust environment, shared by its users), from the
    load settings; each worker of a distributed run samples with its own seed."""
    source = getattr(environment, _ATTRIBUTE, _UNSET)
    if source is _UNSET:
        source = input_source(
            config.inputs, config.input_length, config.inputs_order, config.seed + worker_index
        )
        if source is not None:
            keep_out_of_log(logging.getLogger("flowprobe.load"), source)
        setattr(environment, _ATTRIBUTE, source)
    return source  # type: ignore[return-value]


def fire_by_length(
    sink: metrics.Sink,
    source: InputSource | None,
    length: int,
    *,
    started_at: float,
    ended_at: float,
    token_times: list[float] | None = None,
) -> None:
    """Fire end-to-end (and time to first token, for a stream with tokens) again under the
    input's length bucket; nothing without an input source. Stamps are perf_counter seconds."""
    if source is None:
        return
    measured = {metrics.END_TO_END: (ended_at - started_at) * 1000}
    if token_times:
        measured[metrics.TIME_TO_FIRST_TOKEN] = (token_times[0] - started_at) * 1000
    for name, value in measured.items():
        metrics.fire(sink, bucketed_name(name, length), value)


def by_input_length(metrics_ms: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Bucketed entries of a summary's ``metrics_ms``, as bucket -> metric -> entry, in
    bucket order."""
    found: dict[str, dict[str, Any]] = {}
    for label, _, _ in BUCKETS:
        for metric in BUCKETED:
            entry = metrics_ms.get(f"{metric}[input {label}]")
            if entry is not None:
                found.setdefault(label, {})[metric] = entry
    return found
