"""OLD's run calls made again against a live target, to compare its answers with OLD's.

Calls go to any http(s) target the user names, one at a time, bounded in count and time
(``max_calls``, ``time_limit``): a replay never floods a shared deployment. Bodies go as
recorded (tweaks and session ids included). The cassette scrubbed the key: the target's key
(from its settings) is sent where a key was, and a wrong one where the recorded call was refused
for its key. The key never appears in what this returns or raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from flowprobe.drift.calls import RUN_PREFIX, Call, Recording
from flowprobe.errors import FlowprobeError, TargetError
from flowprobe.redaction import REDACTED
from flowprobe.settings import Settings
from flowprobe.target import Target
from flowprobe.wire.client import Deadlines

__all__ = ["record_live", "replay_target"]

WRONG_KEY = "flowprobe-drift-wrong-key"


def replay_target(settings: Settings) -> Target:
    """The live target OLD's calls are made again on: any http(s) target the settings name.

    Nothing is sent here; a missing URL or flow, or a URL that is not http(s), is a
    :class:`~flowprobe.errors.SettingsError`.
    """
    return Target.from_settings(settings)


def _auth(call: Call, target: Target) -> dict[str, str]:
    # The cassette scrubbed the key; a call it shows refused for its key gets a wrong one again.
    if not ({"x-api-key", "authorization"} & set(call.headers)):
        return {}
    return target.auth_headers(api_key=WRONG_KEY if call.status in (401, 403) else None)


def _live_url(call: Call, old_flow: str | None, target: Target) -> str:
    segment = call.url_path.partition(RUN_PREFIX)[2]
    flow = target.flow if segment == old_flow else segment
    query = [(k, target.api_key or "" if v == REDACTED else v) for k, v in parse_qsl(call.query)]
    return target.api_url(f"run/{quote(flow, safe='')}") + ("?" + urlencode(query) if query else "")


def _replay(http: httpx.Client, call: Call, url: str, target: Target, total: float) -> Call:
    headers = {"content-type": call.headers.get("content-type", "application/json")}
    headers.update(_auth(call, target))
    started = time.monotonic()
    answer = bytearray()
    with http.stream(call.method, url, content=call.body, headers=headers) as response:
        for chunk in response.iter_bytes():
            answer += chunk
            if time.monotonic() - started > total:
                raise TargetError(f"{target.redact(url)} did not finish within {total:g} s")
    return replace(call, status=response.status_code, answer=bytes(answer), source="live")


def record_live(
    old: Recording,
    target: Target,
    *,
    deadlines: Deadlines | None = None,
    max_calls: int = 200,
    time_limit: float = 600.0,
    progress: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Recording:
    """OLD's run calls made again, one at a time, against ``target``.

    Bodies go as recorded (tweaks and session ids included); the target's key replaces the
    scrubbed one. At most ``max_calls`` calls, in at most ``time_limit`` seconds.
    """
    if len(old.calls) > max_calls:
        raise FlowprobeError(
            f"{old.origin} holds {len(old.calls)} run calls, over the bound of {max_calls}; "
            "raise --max-calls to replay them all"
        )
    deadlines = deadlines or Deadlines(total=60.0)
    started = time.monotonic()
    calls = []
    with httpx.Client(timeout=deadlines.httpx_timeout(), transport=transport) as http:
        for number, call in enumerate(old.calls, 1):
            if time.monotonic() - started > time_limit:
                raise TargetError(f"replaying {old.origin} overran its {time_limit:g} s bound")
            url = _live_url(call, old.flow, target)
            try:
                calls.append(_replay(http, call, url, target, deadlines.total))
            except httpx.HTTPError as exc:
                raise _unreachable(exc, target) from None
            if progress:
                progress(f"{number}/{len(old.calls)} {call.request} -> {calls[-1].status}")
    origin = f"{target.base_url} (live, flow {target.flow})"
    return Recording(origin=origin, flow=target.flow, calls=tuple(calls))


def _unreachable(exc: httpx.HTTPError, target: Target) -> TargetError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return TargetError(
            f"cannot reach {target.base_url}; is Langflow running there? "
            "Check FLOWPROBE_BASE_URL, or run `flowprobe up`"
        )
    return TargetError(f"the call to {target.base_url} failed: {target.redact(str(exc))}")
