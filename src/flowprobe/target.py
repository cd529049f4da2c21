"""Where a Langflow run endpoint is and how to authenticate to it.

Two URL forms exist: self-hosted ``{base}/api/v1/run/{flow}`` with an ``x-api-key`` header, and
hosted ``{base}/lf/{LANGFLOW_ID}/api/v1/run/{flow}`` with ``Authorization: Bearer``. The key
never appears in a repr, a log line or an error message: use :func:`redact` on any text that
may have met it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import httpx

from flowprobe.errors import SettingsError
from flowprobe.redaction import REDACTED, redact
from flowprobe.settings import AUTH_STYLES, Settings

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A Langflow run endpoint: base URL, flow, and credentials."""

    base_url: str
    flow: str
    api_key: str | None = field(default=None, repr=False)
    auth: str = ""  # empty: bearer for the hosted form, else x-api-key
    langflow_id: str | None = None

    def __post_init__(self) -> None:
        if not _is_http_url(self.base_url):
            raise SettingsError(
                f"base URL {self.base_url!r} is not an http(s) URL with a host; "
                "set FLOWPROBE_BASE_URL or --flowprobe-url to e.g. http://127.0.0.1:7860"
            )
        # `.` and `..` would be resolved away by URL normalisation: the key would go to
        # /api/v1/run or /api/v1 instead of a flow.
        if not self.flow.strip() or "/" in self.flow or self.flow in (".", ".."):
            raise SettingsError(
                f"flow {self.flow!r} is not a flow id or endpoint name; "
                "set FLOWPROBE_FLOW or --flowprobe-flow"
            )
        if not self.auth:
            object.__setattr__(self, "auth", "bearer" if self.langflow_id else "x-api-key")
        if self.auth not in AUTH_STYLES:
            raise SettingsError(f"auth {self.auth!r} is not one of: {', '.join(AUTH_STYLES)}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def __repr__(self) -> str:
        key = REDACTED if self.api_key else None
        return (
            f"Target(base_url={self.base_url!r}, flow={self.flow!r}, api_key={key!r}, "
            f"auth={self.auth!r}, langflow_id={self.langflow_id!r})"
        )

    @property
    def hosted(self) -> bool:
        return self.langflow_id is not None

    @property
    def flow_is_uuid(self) -> bool:
        return bool(_UUID.match(self.flow))

    def api_url(self, path: str) -> str:
        """The URL of ``/api/v1/...`` path ``path`` on this target, in its URL form."""
        prefix = f"/lf/{quote(self.langflow_id, safe='')}" if self.langflow_id else ""
        return f"{self.base_url}{prefix}/api/v1/{path.lstrip('/')}"

    def run_url(self, *, stream: bool = False, flow: str | None = None) -> str:
        """The run endpoint's URL, with ``?stream=`` spelled out as Langflow's docs do."""
        name = quote(flow or self.flow, safe="")
        return self.api_url(f"run/{name}") + f"?stream={'true' if stream else 'false'}"

    def auth_headers(self, *, api_key: str | None = None) -> dict[str, str]:
        """The headers that carry the key in this target's auth style ({} without a key)."""
        key = api_key if api_key is not None else self.api_key
        if not key:
            return {}
        if self.auth == "bearer":
            return {"Authorization": f"Bearer {key}"}
        return {"x-api-key": key}

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key,) if self.api_key else ()

    def redact(self, text: str) -> str:
        """``text`` with this target's secrets replaced by ``***``."""
        return redact(text, self.secrets())

    def describe(self, *, stream: bool | None = False) -> str:
        """One line for report headers and progress lines; never shows the key. ``stream``:
        the ``?stream=`` the calls use, or ``None`` for both (no query shown)."""
        form = f"hosted, Langflow id {self.langflow_id}" if self.hosted else "self-hosted"
        key = f"{self.auth} {REDACTED}" if self.api_key else "no key"
        url = self.api_url(f"run/{quote(self.flow, safe='')}") if stream is None else None
        return f"{url or self.run_url(stream=bool(stream))} ({form}, {key})"

    @classmethod
    def from_settings(cls, settings: Settings) -> Target:
        """Build a target from resolved settings; a missing URL or flow is a clear error."""
        missing = [n for n in ("base_url", "flow") if not settings.get(n)]
        if missing:
            names = " and ".join(f"FLOWPROBE_{n.upper()}" for n in missing)
            raise SettingsError(
                f"no target: set {names} (or the --flowprobe-* options), "
                "or run `flowprobe up` and `source .flowprobe/target.env` for the local Langflow"
            )
        explicit = settings.describe("auth") != "default"
        auth = str(settings.get("auth")) if explicit else ""
        return cls(
            base_url=str(settings.get("base_url")),
            flow=str(settings.get("flow")),
            api_key=settings.get("api_key"),
            auth=auth,
            langflow_id=settings.get("langflow_id"),
        )


def _is_http_url(text: str) -> bool:
    """An http(s) URL with a host and a valid port, and nothing httpx would refuse to send."""
    try:
        httpx.URL(text)
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises ValueError for a port out of range
    except (httpx.InvalidURL, ValueError):
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
