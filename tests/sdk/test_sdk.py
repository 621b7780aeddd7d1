"""The official `openai` and `anthropic` SDKs, unchanged but for base URL and
key, against the gateway in front of the mock upstream."""

import base64

import anthropic
import openai
import pytest

from conftest import UPSTREAM_CANARY

PROMPT = [{"role": "user", "content": "hello from the sdk"}]


def test_chat(openai_client):
    reply = openai_client.chat.completions.create(model="demo-chat", messages=PROMPT)
    assert "hello from the sdk" in reply.choices[0].message.content
    assert reply.usage.prompt_tokens > 0


def test_chat_stream_without_usage(openai_client):
    chunks = list(openai_client.chat.completions.create(model="demo-chat", messages=PROMPT, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "hello from the sdk" in text
    assert all(c.usage is None for c in chunks), "usage the gateway asked for stays hidden"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_chat_stream_with_usage(openai_client):
    chunks = list(openai_client.chat.completions.create(
        model="demo-chat", messages=PROMPT, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_completions(openai_client):
    reply = openai_client.completions.create(model="demo-chat", prompt="say something")
    assert reply.choices[0].text
    streamed = list(openai_client.completions.create(model="demo-chat", prompt="say something", stream=True))
    assert "".join(c.choices[0].text for c in streamed if c.choices)


def test_embeddings(openai_client):
    reply = openai_client.embeddings.create(model="demo-embed", input=["one", "two"])
    assert len(reply.data) == 2 and len(reply.data[0].embedding) == 8
    raw = openai_client.embeddings.create(model="demo-embed", input="one", encoding_format="base64")
    assert len(base64.b64decode(raw.data[0].embedding)) == 8 * 4


def test_models_list_only_usable(openai_client, anthropic_client):
    ids = [m.id for m in openai_client.models.list()]
    usable = ["demo-chat", "via-openai", "via-anthropic", "demo-embed"]
    assert ids == usable, "staging-only is hidden from a prod identity"
    assert openai_client.models.retrieve("demo-chat").id == "demo-chat"
    assert [m.id for m in anthropic_client.models.list()] == usable


def test_messages(anthropic_client):
    reply = anthropic_client.messages.create(model="demo-chat", max_tokens=64, messages=PROMPT)
    assert "hello from the sdk" in reply.content[0].text
    assert reply.usage.input_tokens > 0 and reply.stop_reason == "end_turn"


def test_messages_stream(anthropic_client):
    with anthropic_client.messages.stream(model="demo-chat", max_tokens=64, messages=PROMPT) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert "hello from the sdk" in text
    assert final.usage.output_tokens > 0


def test_wrong_key_raises_authentication_error(gateway):
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="mgk_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="demo-chat", messages=PROMPT)
    client = anthropic.Anthropic(base_url=gateway.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="demo-chat", max_tokens=8, messages=PROMPT)


def test_unknown_model_raises_not_found(openai_client, anthropic_client):
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="no-such-model", messages=PROMPT)
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="staging-only", messages=PROMPT)
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.messages.create(model="no-such-model", max_tokens=8, messages=PROMPT)


def test_bad_request_raises_bad_request(openai_client, anthropic_client):
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="demo-chat", messages="not a list")
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.post("/v1/messages", body={"model": "demo-chat", "messages": []}, cast_to=object)


def test_no_secret_in_gateway_logs(gateway, openai_client):
    openai_client.chat.completions.create(model="demo-chat", messages=PROMPT)
    logs = "".join(gateway.logs)
    assert gateway.key not in logs and UPSTREAM_CANARY not in logs


def test_policy_denial_reaches_the_sdk_with_its_reason(openai_client, anthropic_client):
    # Two example forbids apply (prod data, and a hosted upstream that
    # retains prompts); the caller reads the reason of the deciding one.
    reasons = ("production data above public may only go to self-hosted upstreams",
               "hosted upstreams that retain prompts may only receive public data")
    with pytest.raises(openai.PermissionDeniedError) as denied:
        openai_client.chat.completions.create(model="hosted-chat", messages=PROMPT)
    assert denied.value.status_code == 403
    assert any(r in denied.value.message for r in reasons), denied.value.message
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        anthropic_client.messages.create(model="hosted-chat", max_tokens=32, messages=PROMPT)
    assert any(r in str(denied.value) for r in reasons)
