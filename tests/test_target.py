"""Tests for flowprobe.target: URL forms, auth headers, validation, and keeping the key hidden."""

from __future__ import annotations

import pytest

from flowprobe.errors import SettingsError
from flowprobe.settings import load_settings
from flowprobe.target import REDACTED, Target, redact

KEY = "sk-target-secret-abcdef0123456789"
FLOW_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def self_hosted(**overrides: object) -> Target:
    fields: dict[str, object] = {
        "base_url": "http://127.0.0.1:7860",
        "flow": "basic-prompting",
        "api_key": KEY,
    }
    fields.update(overrides)
    return Target(**fields)  # type: ignore[arg-type]


def hosted(**overrides: object) -> Target:
    fields: dict[str, object] = {
        "base_url": "https://api.langflow.example",
        "flow": FLOW_UUID,
        "api_key": KEY,
        "auth": "bearer",
        "langflow_id": "lf-1234",
    }
    fields.update(overrides)
    return Target(**fields)  # type: ignore[arg-type]


class TestUrls:
    @pytest.mark.parametrize(("stream", "flag"), [(False, "false"), (True, "true")])
    def test_self_hosted_run_url(self, stream: bool, flag: str) -> None:
        assert (
            self_hosted().run_url(stream=stream)
            == f"http://127.0.0.1:7860/api/v1/run/basic-prompting?stream={flag}"
        )

    @pytest.mark.parametrize(("stream", "flag"), [(False, "false"), (True, "true")])
    def test_hosted_run_url(self, stream: bool, flag: str) -> None:
        assert (
            hosted().run_url(stream=stream)
            == f"https://api.langflow.example/lf/lf-1234/api/v1/run/{FLOW_UUID}?stream={flag}"
        )

    @pytest.mark.parametrize("base", ["http://127.0.0.1:7860/", "http://127.0.0.1:7860///"])
    def test_trailing_slashes_in_the_base_are_dropped(self, base: str) -> None:
        target = self_hosted(base_url=base)
        assert target.base_url == "http://127.0.0.1:7860"
        assert target.run_url() == "http://127.0.0.1:7860/api/v1/run/basic-prompting?stream=false"

    def test_a_base_with_a_path_prefix_is_kept(self) -> None:
        target = self_hosted(base_url="https://proxy.example/langflow/")
        assert target.run_url() == (
            "https://proxy.example/langflow/api/v1/run/basic-prompting?stream=false"
        )

    def test_api_url_uses_the_target_form(self) -> None:
        assert self_hosted().api_url("/flows/") == "http://127.0.0.1:7860/api/v1/flows/"
        assert hosted().api_url("flows/") == "https://api.langflow.example/lf/lf-1234/api/v1/flows/"

    def test_the_flow_is_url_quoted(self) -> None:
        target = self_hosted(flow="my flow?x=1&y#z")
        assert target.run_url() == (
            "http://127.0.0.1:7860/api/v1/run/my%20flow%3Fx%3D1%26y%23z?stream=false"
        )

    def test_another_flow_can_be_asked_for_one_call(self) -> None:
        assert self_hosted().run_url(flow="other flow").endswith("/run/other%20flow?stream=false")

    def test_the_langflow_id_is_url_quoted(self) -> None:
        assert "/lf/a%2Fb%20c/api/v1/" in hosted(langflow_id="a/b c").run_url()


class TestFlowIdentifier:
    @pytest.mark.parametrize("flow", [FLOW_UUID, FLOW_UUID.upper(), FLOW_UUID.replace("-", "")])
    def test_a_uuid_is_recognised(self, flow: str) -> None:
        assert self_hosted(flow=flow).flow_is_uuid

    @pytest.mark.parametrize(
        "flow", ["basic-prompting", FLOW_UUID + "0", FLOW_UUID[:-1], "g" + FLOW_UUID[1:]]
    )
    def test_an_endpoint_name_is_not_a_uuid(self, flow: str) -> None:
        assert not self_hosted(flow=flow).flow_is_uuid


class TestAuthHeaders:
    def test_self_hosted_sends_x_api_key(self) -> None:
        assert self_hosted().auth_headers() == {"x-api-key": KEY}

    def test_bearer_sends_authorization(self) -> None:
        assert hosted().auth_headers() == {"Authorization": f"Bearer {KEY}"}

    def test_bearer_works_on_a_self_hosted_url_too(self) -> None:
        assert self_hosted(auth="bearer").auth_headers() == {"Authorization": f"Bearer {KEY}"}

    def test_no_key_no_headers(self) -> None:
        assert self_hosted(api_key=None).auth_headers() == {}
        assert hosted(api_key=None).auth_headers() == {}

    def test_a_key_for_one_call_replaces_the_target_key(self) -> None:
        assert self_hosted().auth_headers(api_key="other") == {"x-api-key": "other"}

    def test_an_empty_key_for_one_call_sends_nothing(self) -> None:
        assert self_hosted().auth_headers(api_key="") == {}


class TestValidation:
    @pytest.mark.parametrize(
        "base",
        [
            *("", "127.0.0.1:7860", "localhost:7860", "ftp://127.0.0.1", "http://", "http:///path"),
            # Two URLs pasted as one, and a port out of range: httpx would refuse to send either.
            *("http://127.0.0.1:7861\nhttp://127.0.0.1:7860", "http://127.0.0.1:99999"),
        ],
    )
    def test_a_bad_base_url_names_the_setting(self, base: str) -> None:
        with pytest.raises(SettingsError) as caught:
            self_hosted(base_url=base)
        message = str(caught.value)
        assert "FLOWPROBE_BASE_URL" in message
        assert repr(base) in message
        assert KEY not in message

    @pytest.mark.parametrize("flow", ["", "a/b", "/api/v1/run/x"])
    def test_a_bad_flow_names_the_setting(self, flow: str) -> None:
        with pytest.raises(SettingsError) as caught:
            self_hosted(flow=flow)
        assert "FLOWPROBE_FLOW" in str(caught.value)
        assert KEY not in str(caught.value)

    def test_a_bad_auth_names_the_setting_and_the_choices(self) -> None:
        with pytest.raises(SettingsError) as caught:
            self_hosted(auth="basic")
        message = str(caught.value)
        assert "auth 'basic'" in message
        assert "x-api-key" in message
        assert "bearer" in message
        assert KEY not in message


class TestFromSettings:
    def _settings(self, **env: str) -> Target:
        variables = {f"FLOWPROBE_{name.upper()}": value for name, value in env.items()}
        return Target.from_settings(load_settings({}, env=variables, pyproject={}))

    def test_self_hosted(self) -> None:
        target = self._settings(base_url="http://127.0.0.1:7860", flow="f", api_key=KEY)
        assert target.auth == "x-api-key"
        assert not target.hosted
        assert target.auth_headers() == {"x-api-key": KEY}

    def test_bearer_is_the_default_when_a_langflow_id_is_set(self) -> None:
        target = self._settings(
            base_url="https://h.example", flow="f", api_key=KEY, langflow_id="lf-1"
        )
        assert target.hosted
        assert target.auth == "bearer"
        assert target.auth_headers() == {"Authorization": f"Bearer {KEY}"}
        assert target.run_url() == "https://h.example/lf/lf-1/api/v1/run/f?stream=false"

    def test_an_explicit_auth_wins_over_the_hosted_default(self) -> None:
        target = self._settings(
            base_url="https://h.example", flow="f", langflow_id="lf-1", auth="x-api-key"
        )
        assert target.auth == "x-api-key"

    @pytest.mark.parametrize(
        ("env", "named", "not_named"),
        [
            ({}, ("FLOWPROBE_BASE_URL", "FLOWPROBE_FLOW"), ()),
            ({"flow": "f"}, ("FLOWPROBE_BASE_URL",), ("FLOWPROBE_FLOW",)),
            ({"base_url": "http://127.0.0.1:1"}, ("FLOWPROBE_FLOW",), ("FLOWPROBE_BASE_URL",)),
        ],
    )
    def test_a_missing_url_or_flow_explains_how_to_set_it(
        self, env: dict[str, str], named: tuple[str, ...], not_named: tuple[str, ...]
    ) -> None:
        with pytest.raises(SettingsError) as caught:
            self._settings(api_key=KEY, **env)
        message = str(caught.value)
        for name in named:
            assert name in message
        for name in not_named:
            assert name not in message
        assert "--flowprobe-" in message
        assert "flowprobe up" in message
        assert KEY not in message


class TestTheKeyStaysHidden:
    @pytest.mark.parametrize("make", [self_hosted, hosted])
    def test_repr_and_describe(self, make: object) -> None:
        target = make()  # type: ignore[operator]
        assert KEY not in repr(target)
        assert KEY not in str(target)
        assert KEY not in target.describe()
        assert f"api_key={REDACTED!r}" in repr(target)
        assert REDACTED in target.describe()

    def test_describe_says_which_form_and_auth(self) -> None:
        assert "self-hosted" in self_hosted().describe()
        assert "x-api-key" in self_hosted().describe()
        assert "hosted, Langflow id lf-1234" in hosted().describe()
        assert "bearer" in hosted().describe()
        assert "no key" in self_hosted(api_key=None).describe()
        assert "api_key=None" in repr(self_hosted(api_key=None))

    def test_redact_replaces_every_occurrence(self) -> None:
        text = f"sent x-api-key: {KEY} and again {KEY}."
        assert self_hosted().redact(text) == "sent x-api-key: *** and again ***."

    def test_redact_without_a_key_changes_nothing(self) -> None:
        assert self_hosted(api_key=None).redact("nothing secret here") == "nothing secret here"

    def test_redact_function_skips_empty_secrets(self) -> None:
        # A short secret is replaced where it stands alone, never inside a word or a name.
        assert redact("a b c", ["", None, "b"]) == "a *** c"


def test_a_hosted_target_built_directly_defaults_to_bearer() -> None:
    hosted = Target(base_url="http://127.0.0.1:7860", flow="f", api_key="k", langflow_id="lf")
    assert hosted.auth == "bearer"
    assert hosted.auth_headers() == {"Authorization": "Bearer k"}
    assert Target(base_url="http://127.0.0.1:7860", flow="f").auth == "x-api-key"
