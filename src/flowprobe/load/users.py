"""Abstract locust users for Langflow's run endpoint, on ``FastHttpUser``.

:class:`RunUser` calls ``?stream=false``, :class:`StreamingRunUser` calls ``?stream=true`` and
reads the body as it arrives with :class:`~flowprobe.wire.stream.StreamParser`. A call succeeds
only if it keeps the promises the suites check (:mod:`flowprobe.checks`; the contract is checked
on every Nth answer); a broken one fails the call with the violation's kind. Metrics are
recorded apart from locust's request stats (see :mod:`flowprobe.load.measurements`). The
``OpenLoop*`` variants start calls on an arrival schedule instead of a closed loop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from typing import Any

import gevent
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from flowprobe.checks.answer import answer_violations
from flowprobe.checks.stream import STREAM_ANSWERS_200, stream_violations
from flowprobe.checks.verdict import MALFORMED, Violation, status_violations
from flowprobe.load import inputs, metrics
from flowprobe.load.failures import RunFailure, failure_of
from flowprobe.load.measurements import measurements
from flowprobe.load.reading import BodyEnded, read_available
from flowprobe.load.worker_state import WorkerState, worker_state
from flowprobe.wire.client import WEDGED, run_body, wedged
from flowprobe.wire.stream import RecordTooLarge, StreamEvent, StreamOutcome, StreamParser

logger = logging.getLogger("flowprobe.load")
TIMEOUT = "timeout"  # the failure kind of a call past its total deadline
TARGET_WEDGED = "target_wedged"  # the target answers 500 "database is locked": the run stops
_WEDGE_TEXT_READ = 64 * 1024  # bytes of a refused stream's body read to tell a wedge


class _PastDeadline(BaseException):
    """Raised into a call's greenlet at its total deadline. A BaseException, so that neither
    locust's request handling nor flowprobe's readers mistake it for a network error."""


class _LangflowUser(FastHttpUser):
    abstract = True
    stream = False

    def __init__(self, environment: Any) -> None:
        self.flowprobe: WorkerState = worker_state(environment)
        target = self.flowprobe.setup.target
        self.host = target.base_url
        self.network_timeout = float(self.flowprobe.setup.settings.get("timeout") or 60.0)
        super().__init__(environment)
        self._url = target.run_url(stream=self.stream)
        self._name = f"/api/v1/run/{target.flow}?stream={'true' if self.stream else 'false'}"
        self._headers = {**target.auth_headers(), "accept": "application/json"}
        self._session_id = f"flowprobe-load-{uuid.uuid4().hex[:12]}"
        self._answers = 0
        self._current: Any = None  # the call in flight, to cut at its total deadline
        # Merged once, not on every call: the settings do not change during a run.
        self._tweaks = self.flowprobe.setup.call_tweaks() or None
        state = self.flowprobe
        self._inputs = inputs.process_source(environment, state.setup.config, state.worker_index)
        self._input_length = 0

    def request_body(self) -> dict[str, Any]:
        """The run request: input and tweaks from the settings or the input source, and a
        session id."""
        picked = inputs.call_input(
            self._inputs,
            default_input=self.flowprobe.setup.config.input,
            tweaks=self._tweaks,
            session_id=self._session_id_for_call(),
        )
        self._input_length = picked.length
        return run_body(
            input_value=picked.input_value, session_id=picked.session_id, tweaks=picked.tweaks
        )

    def _session_id_for_call(self) -> str | None:
        mode = self.flowprobe.setup.config.session
        if mode == "none":
            return None
        if mode == "per-request":
            return f"flowprobe-load-{uuid.uuid4().hex[:12]}"
        if mode.startswith("fixed:"):
            return mode.removeprefix("fixed:")
        return self._session_id

    def _validating(self) -> bool:
        every = self.flowprobe.setup.config.validate_every
        self._answers += 1
        return every > 0 and (self._answers - 1) % every == 0

    def _post(self, **kwargs: Any) -> Any:
        # Redirects are not followed: the key would go along to wherever the target points.
        # A 3xx fails the call with its status, like any answer that is not the run's.
        response = self.client.post(
            self._url,
            json=self.request_body(),
            headers=self._headers,
            name=self._name,
            catch_response=True,
            allow_redirects=False,
            **kwargs,
        )
        self._current = response
        return response

    @task
    def call_run(self) -> None:
        """One run call (locust's own ``run`` is final, hence the name), within the total
        deadline (FLOWPROBE_TIMEOUT): past it, the call is cut and counts as a ``timeout``."""
        self.before_call()
        started = time.perf_counter()
        self._current = None
        try:
            with gevent.Timeout(self.network_timeout, _PastDeadline):
                self.run_once()
        except _PastDeadline:
            self._past_deadline(started)

    def _past_deadline(self, started: float) -> None:
        if self._current is not None:
            _close(self._current)  # never reuse a connection the target is still writing to
        detail = f"the call did not finish within {self.network_timeout:g} s (total deadline)"
        self.environment.events.request.fire(
            request_type="POST",
            name=self._name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=RunFailure(TIMEOUT, detail),
            context={},
            response=None,
            url=self._url,
        )
        seen = self.flowprobe.failure_kinds_logged
        if TIMEOUT not in seen:
            seen.add(TIMEOUT)
            logger.warning("flowprobe: first %s failure: %s", TIMEOUT, detail)

    def _stop_if_wedged(self, response: Any, text: str) -> bool:
        """Fail a call whose answer says the target runs no more flows as ``target_wedged``,
        and stop the run once, saying why, rather than count a wall of 500s."""
        if not wedged(_status(response), text):
            return False
        response.failure(RunFailure(TARGET_WEDGED, WEDGED))
        if TARGET_WEDGED not in self.flowprobe.failure_kinds_logged:
            self.flowprobe.failure_kinds_logged.add(TARGET_WEDGED)
            logger.error("flowprobe: %s; stopping the run", WEDGED)
            # From a greenlet of its own: quit() kills every user, this one included.
            gevent.spawn(self.environment.runner.quit)
        return True

    def before_call(self) -> None:
        """A hook run before each call; the open-loop users wait for their slot here."""

    def run_once(self) -> None:
        raise NotImplementedError


def _fail(user: _LangflowUser, response: Any, violations: list[Violation]) -> bool:
    """Fail the call with the first violation, if any; log the first of each kind in this
    process with detail. Whether the call failed."""
    if not violations:
        return False
    failure = failure_of(violations[0])
    response.failure(failure)
    seen = user.flowprobe.failure_kinds_logged
    if failure.kind not in seen:
        seen.add(failure.kind)
        detail = user.flowprobe.setup.target.redact(failure.detail)
        logger.warning("flowprobe: first %s failure: %s", failure.kind, detail[:500])
    return True


def _close(response: Any) -> None:
    """Close a call's connection outright, mid-answer."""
    sock = getattr(getattr(response, "_response", None), "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _drain(response: Any) -> None:
    """Read and drop a refused stream's body, so its connection can be reused."""
    raw = getattr(response, "_response", None)
    if raw is None:
        return
    try:
        while read_available(raw):
            pass
    except BodyEnded:
        pass


def _head(response: Any) -> str:
    """The start of a refused stream's body, as text (enough to tell a wedged target)."""
    # locust may have read an error answer's body already; else read it, up to the limit.
    data = getattr(response, "_cached_content", None) or b""
    raw = None if data else getattr(response, "_response", None)
    try:
        while raw is not None and len(data) < _WEDGE_TEXT_READ and (chunk := read_available(raw)):
            data += chunk
    except BodyEnded:
        pass
    return bytes(data[:_WEDGE_TEXT_READ]).decode("utf-8", errors="replace")


def _status(response: Any) -> int:
    """The answer's status; 0 when none came (locust says 0 or None)."""
    return int(response.status_code or 0)


def _text(response: Any) -> str:
    """The answer as text; for a call that got no answer, the error that stopped it."""
    if not _status(response):
        return repr(getattr(response, "error", None))
    return bytes(response.content or b"").decode("utf-8", errors="replace")


def _json_or_none(content: bytes | None) -> Any:
    try:
        return json.loads(content or b"")
    except ValueError:
        return None


class RunUser(_LangflowUser):
    """Calls ``?stream=false``; checks status, JSON and (sampled) the run-response contract."""

    abstract = True

    def run_once(self) -> None:
        started = time.perf_counter()
        with self._post() as response:
            ended = time.perf_counter()
            if _status(response) >= 500 and self._stop_if_wedged(response, _text(response)):
                return
            if _fail(self, response, self._violations(response)):
                return
            response.success()
        end_to_end = (ended - started) * 1000
        measured = measurements(self.environment)
        metrics.fire(measured, metrics.END_TO_END, end_to_end)
        inputs.fire_by_length(
            measured, self._inputs, self._input_length, started_at=started, ended_at=ended
        )
        if end_to_end <= self.flowprobe.setup.config.slo_e2e_p95_ms:
            metrics.fire(measured, metrics.WITHIN_SLO, end_to_end)

    def _violations(self, response: Any) -> list[Violation]:
        status = _status(response)
        body = _json_or_none(response.content) if status == 200 else None
        # Only a 200 with a JSON body counts towards the sampling of contract validation.
        validate = body is not None and self._validating()
        # The text is shown only for an answer that is no JSON body: skip decoding the rest.
        text = "" if body is not None else _text(response)
        return answer_violations(status, body, text, validate)


class StreamingRunUser(_LangflowUser):
    """Calls ``?stream=true``; times every token as its bytes arrive; success needs ``end``."""

    abstract = True
    stream = True

    def run_once(self) -> None:
        started = time.perf_counter()
        with self._post(stream=True) as response:
            first_byte_at = time.perf_counter()
            status = _status(response)
            # A refused stream's body is drained unread: the verdict shows its status alone,
            # or with no answer at all, the error that stopped the call.
            body = None if status else _text(response)
            refused = status_violations(status, 200, STREAM_ANSWERS_200, body)
            if status >= 500 and self._stop_if_wedged(response, _head(response)):
                _drain(response)
                return
            if refused:
                _drain(response)
                _fail(self, response, refused)
                return
            try:
                events, parser, size, ended_at = self._read(response)
            except RecordTooLarge as exc:
                _close(response)  # the target is still writing: never reuse the connection
                _fail(self, response, [Violation(str(exc), MALFORMED, "a stream record")])
                return
            response.request_meta["response_time"] = (ended_at - started) * 1000
            response.request_meta["response_length"] = size
            if _fail(self, response, self._violations(events, parser, response)):
                return
            response.success()
        end = next(event for event in events if event.event in ("end", "done"))
        token_times = [event.arrived_at for event in events if event.event == "token"]
        measured = measurements(self.environment)
        config = self.flowprobe.setup.config
        metrics.fire_stream_metrics(
            measured,
            started_at=started,
            token_times=token_times,
            ended_at=end.arrived_at,
            first_byte_at=first_byte_at,
            slo_ttft_ms=config.slo_ttft_p95_ms,
            slo_e2e_ms=config.slo_e2e_p95_ms,
        )
        inputs.fire_by_length(
            measured,
            self._inputs,
            self._input_length,
            started_at=started,
            ended_at=end.arrived_at,
            token_times=token_times,
        )

    def _read(self, response: Any) -> tuple[list[StreamEvent], StreamParser, int, float]:
        parser = StreamParser()
        events: list[StreamEvent] = []
        size = 0
        raw = response._response
        try:
            while chunk := read_available(raw):
                size += len(chunk)
                events += parser.feed(chunk, arrived_at=time.perf_counter())
        except BodyEnded:
            pass  # the parser's outcome says truncated
        events += parser.close()
        return events, parser, size, time.perf_counter()

    def _violations(
        self, events: list[StreamEvent], parser: StreamParser, response: Any
    ) -> list[Violation]:
        # Only a stream that ended with end counts towards the sampling of contract validation:
        # one that broke off already fails with how it ended.
        validate = parser.outcome is StreamOutcome.COMPLETED and self._validating()
        content_type = (response.headers or {}).get("content-type", "")
        return stream_violations(events, parser, content_type=content_type, validate=validate)


class _OpenLoop:
    """Starts each call on the shared arrival schedule; reports lateness and missed slots."""

    environment: Any
    flowprobe: WorkerState
    wait_time = constant(0)

    def before_call(self) -> None:
        schedule = self.flowprobe.schedule()
        claim = schedule.claim(time.perf_counter())
        measured = measurements(self.environment)
        for _ in range(claim.missed):
            metrics.fire(measured, metrics.MISSED_ARRIVAL, 0, kind=metrics.ARRIVAL)
        delay = claim.at - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        lateness = max(time.perf_counter() - claim.at, 0.0) * 1000
        metrics.fire(measured, metrics.ARRIVAL_LATENESS, lateness, kind=metrics.ARRIVAL)


class OpenLoopRunUser(_OpenLoop, RunUser):
    """:class:`RunUser` on an open-loop arrival schedule (FLOWPROBE_LOAD_ARRIVAL_RATE)."""

    abstract = True


class OpenLoopStreamingRunUser(_OpenLoop, StreamingRunUser):
    """:class:`StreamingRunUser` on an open-loop arrival schedule."""

    abstract = True
