"""A local, deterministic, OpenAI-compatible LLM stub, standard library only.

A real Langflow's OpenAI model component (``ChatOpenAI`` with its base URL set to
``StubLLM.base_url``) calls it, and load tests hammer it, so it answers with no internet, no
randomness and nothing logged per request. ``flowprobe stub-llm`` (or
``python -m flowprobe.local.stub``, the same command) serves it in the foreground.

Endpoints (each also without the ``/v1`` prefix, since clients disagree on where it goes):

- ``POST /v1/chat/completions``, plain or with ``"stream": true`` (server-sent events, one
  ``chat.completion.chunk`` per token, ``stream_options.include_usage`` honoured, then
  ``data: [DONE]``);
- ``GET /v1/models`` and ``GET /v1/models/{id}`` (any id is answered: the stub accepts any model);
- ``GET /health`` answers ``{"status": "ok"}``;
- ``GET /stub/settings`` and ``PUT /stub/settings`` read and change the pacing while it runs
  (``{"first_token_delay_ms", "inter_token_delay_ms", "tokens"}``), for tests whose requests
  reach it through Langflow and so cannot send it headers.

Errors use OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``: 404 for an
unknown path, 405 for a wrong method, 400 for a body that is not JSON or not a chat request.

The answer shows what reached the stub, so a test can see which tweak arrived. It is exactly
``tokens`` tokens, and its content is their concatenation:

- token 0 is ``[model=<model> temperature=<temperature> prompt=<prompt>]``, where
  ``<temperature>`` is the request's value as JSON (``0.2``) or ``default`` when absent or null,
  and ``<prompt>`` is every message as ``<role>: <text>`` joined with `` | ``
  (``system: Be brief. | user: Hi``); a content given as a list of parts contributes its
  ``text`` parts joined with one space, other parts (images) are skipped; an assistant turn
  that only called tools contributes an empty text;
- a prompt longer than ``PROMPT_ECHO_LIMIT`` (2048) characters is shown as its digest instead,
  ``<first 256 characters>... (<length> chars, sha256 <hex of its UTF-8>, nonces <n1> <n2>)``:
  every flowprobe nonce it holds (``fp`` and 12 hex digits, as ``flowprobe_nonce`` makes them),
  once each in order of first appearance (``none`` when there is none; beyond 32, the first 16
  and the last 16). A memory flow sends its whole history, earlier answers included, so a whole
  echo would double every call; the digest keeps the answer's size bounded;
- tokens 1 to N-1 are `` tok1``, `` tok2``, ...

A request offering ``tools`` (an Agent's) is answered the same way: a plain assistant message
that calls no tool, so the agent finishes on its first round.

Usage: ``completion_tokens`` is N, ``prompt_tokens`` is the number of whitespace-separated words
across all the messages' texts (roles not counted), ``total_tokens`` their sum.

Timing, measured from when the request body has been read: token ``i`` is sent
``first_token_delay + i * inter_token_delay`` seconds later, and a non-streaming answer is sent
when the last token would have been, so both modes take the same time. The role chunk that opens
a stream goes out with token 0, as OpenAI's does. Three request headers override the settings for
one request: ``x-stub-first-token-delay-ms``, ``x-stub-inter-token-delay-ms`` (0 to 600000) and
``x-stub-tokens`` (1 to 100000); another value answers 400.
"""

from __future__ import annotations

from flowprobe.local.stub.http_server import LAST_REQUESTS_KEPT
from flowprobe.local.stub.protocol import (
    DEFAULT_SETTINGS,
    FIRST_TOKEN_DELAY_HEADER,
    INTER_TOKEN_DELAY_HEADER,
    MODEL_IDS,
    PROMPT_ECHO_LIMIT,
    SETTINGS_PATH,
    TOKENS_HEADER,
    StubSettings,
    answer_tokens,
)
from flowprobe.local.stub.server import StubLLM

__all__ = [
    "DEFAULT_SETTINGS",
    "FIRST_TOKEN_DELAY_HEADER",
    "INTER_TOKEN_DELAY_HEADER",
    "LAST_REQUESTS_KEPT",
    "MODEL_IDS",
    "PROMPT_ECHO_LIMIT",
    "SETTINGS_PATH",
    "TOKENS_HEADER",
    "StubLLM",
    "StubSettings",
    "answer_tokens",
]
