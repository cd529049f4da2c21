"""The OpenAI wire format the stub speaks: what a request asks, what is answered, and when.

No sockets here: the handler (``handler.py``) reads bytes and writes what these functions build,
so every rule of the answer can be read, and tested, in one place.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from flowprobe.errors import SettingsError

# Header names, not secrets: bandit's rule only sees "TOKEN" in the names.
FIRST_TOKEN_DELAY_HEADER = "x-stub-first-token-delay-ms"  # noqa: S105
INTER_TOKEN_DELAY_HEADER = "x-stub-inter-token-delay-ms"  # noqa: S105
TOKENS_HEADER = "x-stub-tokens"
SETTINGS_PATH = "/stub/settings"  # GET or PUT {first_token_delay_ms, inter_token_delay_ms, tokens}
MODEL_IDS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "flowprobe-stub")

PROMPT_ECHO_LIMIT = 2048
"""Prompts longer than this many characters are answered with their digest, not echoed whole."""

# Bounds on what a request may ask for, so one bad header cannot park a thread for hours.
_MAX_HEADER_DELAY_MS = 600_000.0
_MAX_HEADER_TOKENS = 100_000
# A fixed date keeps the models answer byte-for-byte the same across runs.
_MODELS_CREATED = 1_700_000_000
_FINGERPRINT = "fp_flowprobe_stub"
# A digest shows the prompt's start and at most this many nonces, so its size is bounded.
_DIGEST_START_CHARS = 256
_DIGEST_MAX_NONCES = 32
# What flowprobe_nonce makes: "fp" and 12 hex digits, alone or in brackets ("[fp0123456789ab]").
_NONCE = re.compile(r"(?<![0-9A-Za-z])fp[0-9a-f]{12}(?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True, kw_only=True)
class StubSettings:
    """How the stub paces and sizes every answer (seconds, and a number of tokens)."""

    first_token_delay: float = 0.0
    inter_token_delay: float = 0.0
    tokens: int = 8

    def __post_init__(self) -> None:
        for name in ("first_token_delay", "inter_token_delay"):
            value = getattr(self, name)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not is_number or not 0 <= value < float("inf"):
                raise SettingsError(
                    f"{name} must be a finite number of seconds >= 0, got {value!r}"
                )
        if isinstance(self.tokens, bool) or not isinstance(self.tokens, int) or self.tokens < 1:
            raise SettingsError(f"tokens must be a whole number >= 1, got {self.tokens!r}")


DEFAULT_SETTINGS = StubSettings()


class RequestError(Exception):
    """A request the stub refuses, answered in OpenAI's error format."""

    def __init__(
        self,
        status: HTTPStatus,
        message: str,
        *,
        param: str | None = None,
        kind: str = "invalid_request_error",
        close: bool = False,
        allow: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.kind = kind
        # Set when the body was not read: the connection cannot carry another request.
        self.close = close
        self.allow = allow

    def body(self) -> dict[str, Any]:
        """The answer's JSON body, ``{"error": {...}}``."""
        return error_body(self.message, self.kind, param=self.param)


def error_body(message: str, kind: str, *, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _bad_request(message: str, param: str | None = None) -> RequestError:
    return RequestError(HTTPStatus.BAD_REQUEST, message, param=param)


def compact_json(payload: dict[str, Any]) -> str:
    """``payload`` as JSON without spaces, as OpenAI sends it."""
    return json.dumps(payload, separators=(",", ":"))


# --- what was asked -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """The parts of a chat completion request that shape the answer."""

    model: str
    temperature: object
    messages: tuple[tuple[str, str], ...]  # (role, text)
    stream: bool
    include_usage: bool


def parse_json(body: bytes) -> object:
    """The request body as JSON; a 400 when it is not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _bad_request(f"the request body is not valid JSON: {error}") from None


def parse_chat_request(payload: object) -> ChatRequest:
    """What a ``/chat/completions`` body asks; a 400 naming the field when it is malformed."""
    if not isinstance(payload, dict):
        raise _bad_request("the request body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise _bad_request("'model' must be a non-empty string", "model")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad_request("'messages' must be a non-empty list", "messages")
    stream = payload.get("stream") or False
    if not isinstance(stream, bool):
        raise _bad_request("'stream' must be true or false", "stream")
    options = payload.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _bad_request("'stream_options' must be an object", "stream_options")
    return ChatRequest(
        model=model,
        temperature=payload.get("temperature"),
        messages=tuple(_read_message(message, index) for index, message in enumerate(messages)),
        stream=stream,
        include_usage=stream and options.get("include_usage") is True,
    )


def _read_message(message: object, index: int) -> tuple[str, str]:
    if not isinstance(message, dict):
        raise _bad_request(f"messages[{index}] must be an object", f"messages[{index}]")
    role = message.get("role")
    if not isinstance(role, str):
        raise _bad_request(f"messages[{index}].role must be a string", f"messages[{index}].role")
    return role, _content_text(message.get("content"), index)


def _content_text(content: object, index: int) -> str:
    if content is None:  # an assistant turn that only called tools
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    raise _bad_request(
        f"messages[{index}].content must be a string or a list of parts",
        f"messages[{index}].content",
    )


# --- what is answered -----------------------------------------------------------------------


def answer_tokens(
    *, model: str, temperature: object, messages: Sequence[tuple[str, str]], tokens: int
) -> list[str]:
    """The tokens the stub answers to these (role, text) messages; see the package docstring.

    Public so that a suite can compute the exact reply it expects to see come back.
    """
    prompt = " | ".join(f"{role}: {text}" for role, text in messages)
    shown_temperature = "default" if temperature is None else json.dumps(temperature)
    echo = f"[model={model} temperature={shown_temperature} prompt={shown_prompt(prompt)}]"
    return [echo, *(f" tok{index}" for index in range(1, tokens))]


def shown_prompt(prompt: str) -> str:
    """The prompt as the echo shows it: whole up to :data:`PROMPT_ECHO_LIMIT` characters, else
    ``<start>... (<n> chars, sha256 <hex>, nonces <fp...> <fp...>)``.

    A memory flow sends its whole history, which holds the stub's earlier answers: echoing it
    whole would double the prompt every call until the stub refuses it. The digest keeps what a
    test looks for, the flowprobe nonces (each once, in order of first appearance).
    """
    if len(prompt) <= PROMPT_ECHO_LIMIT:
        return prompt
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()
    nonces = _bounded(list(dict.fromkeys(_NONCE.findall(prompt))))
    about = f"{len(prompt)} chars, sha256 {digest}, nonces {' '.join(nonces) or 'none'}"
    return f"{prompt[:_DIGEST_START_CHARS]}... ({about})"


def _bounded(nonces: list[str]) -> list[str]:
    # The first nonces come from the flow's own template, the last from the newest history.
    if len(nonces) <= _DIGEST_MAX_NONCES:
        return nonces
    half = _DIGEST_MAX_NONCES // 2
    return [*nonces[:half], *nonces[-half:]]


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer, in both the shapes OpenAI gives it."""

    chat: ChatRequest
    tokens: tuple[str, ...]
    ident: str
    created: int

    @classmethod
    def build(cls, chat: ChatRequest, tokens: int) -> Reply:
        """The answer of ``tokens`` tokens to ``chat``, with a fresh id."""
        texts = answer_tokens(
            model=chat.model, temperature=chat.temperature, messages=chat.messages, tokens=tokens
        )
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        return cls(chat=chat, tokens=tuple(texts), ident=ident, created=int(time.time()))

    def usage(self) -> dict[str, int]:
        """Prompt words, answer tokens and their sum, under OpenAI's names."""
        prompt_tokens = sum(len(text.split()) for _, text in self.chat.messages)
        completion_tokens = len(self.tokens)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def completion(self) -> dict[str, Any]:
        """The whole answer, a ``chat.completion``."""
        message = {"role": "assistant", "content": "".join(self.tokens)}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
        return {**self._envelope("chat.completion"), "choices": [choice], "usage": self.usage()}

    def chunk(self, delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
        """One ``chat.completion.chunk`` of a stream, carrying ``delta``."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = {**self._envelope("chat.completion.chunk"), "choices": [choice]}
        if self.chat.include_usage:  # OpenAI marks every chunk but the last with usage: null
            chunk["usage"] = None
        return chunk

    def usage_chunk(self) -> dict[str, Any]:
        """The last chunk of a stream that asked for usage: no choices, only the usage."""
        return {**self._envelope("chat.completion.chunk"), "choices": [], "usage": self.usage()}

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.ident,
            "object": kind,
            "created": self.created,
            "model": self.chat.model,
            "system_fingerprint": _FINGERPRINT,
        }


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _MODELS_CREATED, "owned_by": "flowprobe"}


def models_answer(path: str) -> dict[str, Any]:
    """The answer to ``GET /models`` (the list) or ``GET /models/{id}`` (any id is known)."""
    if path == "/models":
        return {"object": "list", "data": [_model_object(model_id) for model_id in MODEL_IDS]}
    return _model_object(unquote(path.removeprefix("/models/")))


def api_path(target: str) -> str:
    """The request target without query, trailing slash or the optional ``/v1`` prefix."""
    path = target.partition("?")[0].rstrip("/") or "/"
    if path == "/v1" or path.startswith("/v1/"):
        path = path[3:] or "/"
    return path


# --- pacing ---------------------------------------------------------------------------------


def settings_for_request(base: StubSettings, headers: Message) -> StubSettings:
    """``base`` with the ``x-stub-*`` header overrides of one request applied."""
    return StubSettings(
        first_token_delay=_delay_header(
            FIRST_TOKEN_DELAY_HEADER, headers.get(FIRST_TOKEN_DELAY_HEADER), base.first_token_delay
        ),
        inter_token_delay=_delay_header(
            INTER_TOKEN_DELAY_HEADER, headers.get(INTER_TOKEN_DELAY_HEADER), base.inter_token_delay
        ),
        tokens=_tokens_header(headers.get(TOKENS_HEADER), base.tokens),
    )


def _delay_header(name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        milliseconds = float(text)
    except ValueError:
        milliseconds = float("nan")
    if not 0 <= milliseconds <= _MAX_HEADER_DELAY_MS:  # also refuses nan and inf
        raise _bad_request(
            f"header {name} must be 0 to {_MAX_HEADER_DELAY_MS:.0f} ms, got {text!r}"
        )
    return milliseconds / 1000


def _tokens_header(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        tokens = int(text.strip())
    except ValueError:
        tokens = 0
    if not 1 <= tokens <= _MAX_HEADER_TOKENS:
        raise _bad_request(
            f"header {TOKENS_HEADER} must be 1 to {_MAX_HEADER_TOKENS}, got {text!r}"
        )
    return tokens


def settings_json(settings: StubSettings) -> dict[str, Any]:
    """What ``GET /stub/settings`` answers: the delays in milliseconds and the token count."""
    return {
        "first_token_delay_ms": settings.first_token_delay * 1000,
        "inter_token_delay_ms": settings.inter_token_delay * 1000,
        "tokens": settings.tokens,
    }


def settings_from_json(payload: object, current: StubSettings) -> StubSettings:
    """``current`` with the fields of a ``PUT /stub/settings`` body replaced; a 400 if bad."""
    if not isinstance(payload, dict):
        raise _bad_request("settings must be a JSON object")
    merged = {**settings_json(current), **payload}
    try:
        return StubSettings(
            first_token_delay=float(merged["first_token_delay_ms"]) / 1000,
            inter_token_delay=float(merged["inter_token_delay_ms"]) / 1000,
            tokens=int(merged["tokens"]),
        )
    except (TypeError, ValueError, SettingsError) as exc:
        raise _bad_request(f"bad settings: {exc}") from None


def token_due(settings: StubSettings, received_at: float, index: int) -> float:
    """When token ``index`` is sent, on the clock ``received_at`` was read from."""
    return received_at + settings.first_token_delay + index * settings.inter_token_delay
