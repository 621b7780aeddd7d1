"""Translation: the `anthropic` SDK served by an OpenAI-kind upstream
(`via-openai`) and the `openai` SDK served by an Anthropic upstream
(`via-anthropic`), streamed and not, with a tool call round trip."""

import json

WEATHER_ANTHROPIC = [{
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                     "required": ["location"]},
}]
WEATHER_OPENAI = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                       "required": ["location"]},
    },
}]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


def test_anthropic_sdk_on_an_openai_upstream(anthropic_client):
    reply = anthropic_client.messages.create(
        model="via-openai", max_tokens=64, system="Be brief.",
        messages=[{"role": "user", "content": "hello across dialects ✓"}])
    assert reply.type == "message" and reply.model == "via-openai"
    assert "hello across dialects ✓" in reply.content[0].text
    assert reply.stop_reason == "end_turn"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0

    with anthropic_client.messages.stream(
            model="via-openai", max_tokens=64,
            messages=[{"role": "user", "content": "stream across"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert "stream across" in text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_anthropic_sdk_tool_round_trip_on_an_openai_upstream(anthropic_client):
    for streamed in (False, True):
        if streamed:
            with anthropic_client.messages.stream(model="via-openai", max_tokens=64,
                                                  messages=ASK, tools=WEATHER_ANTHROPIC) as s:
                first = s.get_final_message()
        else:
            first = anthropic_client.messages.create(model="via-openai", max_tokens=64,
                                                     messages=ASK, tools=WEATHER_ANTHROPIC)
        assert first.stop_reason == "tool_use"
        call = next(b for b in first.content if b.type == "tool_use")
        assert call.name == "get_weather" and "location" in call.input
        follow = ASK + [
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "14 degrees"}]},
        ]
        answer = anthropic_client.messages.create(model="via-openai", max_tokens=64,
                                                  messages=follow, tools=WEATHER_ANTHROPIC)
        assert answer.stop_reason == "end_turn"
        assert "14 degrees" in answer.content[0].text


def test_openai_sdk_on_an_anthropic_upstream(openai_client):
    reply = openai_client.chat.completions.create(
        model="via-anthropic",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "hello across dialects ✓"}])
    assert reply.object == "chat.completion" and reply.model == "via-anthropic"
    assert "hello across dialects ✓" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0

    chunks = list(openai_client.chat.completions.create(
        model="via-anthropic", messages=[{"role": "user", "content": "stream across"}],
        stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "stream across" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_openai_sdk_tool_round_trip_on_an_anthropic_upstream(openai_client):
    for streamed in (False, True):
        if streamed:
            chunks = list(openai_client.chat.completions.create(
                model="via-anthropic", messages=ASK, tools=WEATHER_OPENAI, stream=True))
            calls = {}
            for c in chunks:
                for d in (c.choices[0].delta.tool_calls or []) if c.choices else []:
                    entry = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
                    entry["id"] = d.id or entry["id"]
                    if d.function and d.function.name:
                        entry["name"] = d.function.name
                    if d.function and d.function.arguments:
                        entry["arguments"] += d.function.arguments
            finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
            call = calls[0]
        else:
            first = openai_client.chat.completions.create(
                model="via-anthropic", messages=ASK, tools=WEATHER_OPENAI)
            finish = first.choices[0].finish_reason
            tc = first.choices[0].message.tool_calls[0]
            call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
        assert finish == "tool_calls"
        assert call["name"] == "get_weather"
        assert "location" in json.loads(call["arguments"])
        follow = ASK + [
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": call["id"], "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]}}]},
            {"role": "tool", "tool_call_id": call["id"], "content": "14 degrees"},
        ]
        answer = openai_client.chat.completions.create(
            model="via-anthropic", messages=follow, tools=WEATHER_OPENAI)
        assert answer.choices[0].finish_reason == "stop"
        assert "14 degrees" in answer.choices[0].message.content
