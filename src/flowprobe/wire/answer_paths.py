"""The places in a run answer that clients read, each spelled once.

Each is a tuple of steps (keys and indexes) from the top of a non-streaming answer; a stream's
``end`` event carries the same answer under ``data.result`` (:data:`END_RESULT`). Format one for a
message with :func:`flowprobe.jsonpath.path_of`.
"""

from __future__ import annotations

Steps = tuple[str | int, ...]

FIRST_RESULT: Steps = ("outputs", 0, "outputs", 0)
"""The first component result of the first input: where every client starts."""

RESULTS_TEXT: Steps = (*FIRST_RESULT, "results", "message", "text")
"""The answer text as most clients (and the API pane's cURL and Python samples) read it."""

OUTPUTS_MESSAGE: Steps = (*FIRST_RESULT, "outputs", "message", "message")
"""Where the API pane's JavaScript sample path starts."""

PANE_JAVASCRIPT_TEXT: Steps = (*OUTPUTS_MESSAGE, "text")
"""The answer text as the API pane's JavaScript sample reads it."""

MESSAGES_TEXT: Steps = (*FIRST_RESULT, "messages", 0, "message")
"""The answer text in the result's message list."""

END_RESULT: Steps = ("data", "result")
"""Where a stream's ``end`` event keeps the whole answer."""

SAMPLE_PATHS: dict[str, Steps] = {
    "results.message.text": RESULTS_TEXT[len(FIRST_RESULT) :],
    "outputs.message.message": OUTPUTS_MESSAGE[len(FIRST_RESULT) :],
    "messages[0].message": MESSAGES_TEXT[len(FIRST_RESULT) :],
}
"""The answer as each client path reads it, relative to :data:`FIRST_RESULT`."""
