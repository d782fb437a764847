# Why: the MCP server the official conformance suite is run against, once directly and once through the gateway, so that
# any scenario the gateway breaks shows up as "passes direct, fails through UCP" (tests/it/conformance.rs, CONFORMANCE.md).
"""Conformance fixture: every server scenario of @modelcontextprotocol/conformance 0.1.16 (`--suite all`) and
0.2.0-alpha.11 (`--requirements 2026-07-28`), over Streamable HTTP on 127.0.0.1.

Built on the official Python SDK (`mcp` 2.3.0, MIT), which serves both wires from one endpoint: the stateful
2025-11-25 handshake (initialize, sessions, SSE back-channel for sampling/elicitation/logging) and the stateless
2026-07-28 protocol (per-request `_meta`, server/discover, subscriptions/listen, InputRequiredResult with a signed
requestState). The names, arguments and return values below are the ones the suite's scenario sources ask for
(src/scenarios/server/*.ts of the conformance repository, MIT); the shape follows the SDK's own conformance
fixture, examples/servers/everything-server (MIT).

Usage: fixture_server.py --port N [--log-level LEVEL]
Serves http://127.0.0.1:N/mcp.
"""

import argparse
import asyncio
import base64
import json
import logging
import warnings
from typing import Annotated, Any

from mcp.server import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer, RequestStateSecurity
from mcp.server.mcpserver.prompts.base import Prompt, UserMessage
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    AudioContent,
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    InputRequest,
    InputRequiredResult,
    JSONRPCMessage,
    ListRootsRequest,
    ListRootsResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel, Field

log = logging.getLogger("conformance-fixture")

# Logging, sampling and roots are deprecated at 2026-07-28 but still part of 2025-11-25, which this fixture serves too.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

# A 1x1 PNG and a WAV header with two bytes of samples: the smallest valid payloads of each kind.
PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV_BASE64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

# requestState is HMAC-signed by the SDK with this key (>= 32 bytes); a fixture, so a constant is fine.
REQUEST_STATE_KEY = b"ucp-conformance-fixture-request-state-key"


class MemoryEventStore(EventStore):
    """SSE events kept in memory so a client can resume a closed stream with Last-Event-ID (SEP-1699)."""

    def __init__(self) -> None:
        self._events: list[tuple[str, str, JSONRPCMessage | None]] = []

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        event_id = str(len(self._events) + 1)
        self._events.append((stream_id, event_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        stream = next((s for s, e, _ in self._events if e == last_event_id), None)
        if stream is None:
            return None
        for s, e, message in self._events:
            if s == stream and int(e) > int(last_event_id) and message is not None:
                await send_callback(EventMessage(message, e))
        return stream


subscriptions: set[str] = set()

mcp = MCPServer(
    name="ucp-conformance-fixture",
    version="1.0.0",
    request_state_security=RequestStateSecurity(keys=[REQUEST_STATE_KEY]),
)


# ---- tools: content types ------------------------------------------------------------------------------------------


@mcp.tool()
def test_simple_text() -> str:
    """Returns one text block (tools-call-simple-text)."""
    return "This is a simple text response for testing."


@mcp.tool()
def test_image_content() -> list[ImageContent]:
    """Returns one base64 PNG image block (tools-call-image)."""
    return [ImageContent(type="image", data=PNG_BASE64, mime_type="image/png")]


@mcp.tool()
def test_audio_content() -> list[AudioContent]:
    """Returns one base64 WAV audio block (tools-call-audio)."""
    return [AudioContent(type="audio", data=WAV_BASE64, mime_type="audio/wav")]


@mcp.tool()
def test_embedded_resource() -> list[EmbeddedResource]:
    """Returns one embedded text resource (tools-call-embedded-resource)."""
    return [
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
            ),
        )
    ]


@mcp.tool()
def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
    """Returns text, image and embedded resource blocks in one result (tools-call-mixed-content)."""
    return [
        TextContent(type="text", text="Multiple content types test:"),
        ImageContent(type="image", data=PNG_BASE64, mime_type="image/png"),
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="test://mixed-content-resource", mime_type="application/json", text='{"test": "data", "value": 123}'
            ),
        ),
    ]


@mcp.tool()
def test_error_handling() -> str:
    """Always fails: the result carries isError true and the message (tools-call-error)."""
    raise RuntimeError("This tool intentionally returns an error for testing")


# ---- tools: notifications during a call ---------------------------------------------------------------------------


@mcp.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three notifications/message at info level, 50 ms apart (tools-call-with-logging)."""
    for i, text in enumerate(["Tool execution started", "Tool processing data", "Tool execution completed"]):
        if i:
            await asyncio.sleep(0.05)
        await ctx.info(text)
    return "Tool with logging executed successfully"


@mcp.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Sends notifications/progress 0, 50, 100 of 100 with the request's progressToken (tools-call-with-progress)."""
    for i, step in enumerate([0, 50, 100]):
        if i:
            await asyncio.sleep(0.05)
        await ctx.report_progress(progress=step, total=100, message=f"Completed step {step} of 100")
    meta = ctx.request_context.meta if ctx.request_context else None
    return f"Progress reported for token {meta.get('progress_token') if meta else None}"


@mcp.tool()
async def test_reconnection(ctx: Context) -> str:
    """Closes its SSE response stream mid-call; the rest arrives after the client resumes (server-sse-polling)."""
    await ctx.info("Before disconnect")
    await ctx.close_sse_stream()
    await asyncio.sleep(0.2)
    await ctx.info("After reconnect")
    return "Reconnection test completed"


@mcp.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs once; at 2026-07-28 the log must not reach a request without _meta logLevel (server-stateless)."""
    await ctx.info("Diagnostic trace logging activated")
    return "Logging tool completed"


@mcp.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Answers on the request's own stream; that stream must carry no independent request (server-stateless)."""
    await ctx.report_progress(progress=50, total=100)
    return "Streaming complete"


# ---- tools: server-to-client requests (2025-11-25 back-channel) ----------------------------------------------------


@mcp.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client for sampling/createMessage with the prompt, maxTokens 100 (tools-call-sampling)."""
    try:
        result = await ctx.session.create_message(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
            max_tokens=100,
            related_request_id=ctx.request_id,
        )
    except Exception as e:  # the suite reads the text either way
        return f"Sampling not supported or error: {e}"
    return f"LLM response: {result.content.text if result.content.type == 'text' else 'No response'}"


class UserInfo(BaseModel):
    username: str = Field(description="User's response")
    email: str = Field(description="User's email address")


@mcp.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the client for elicitation/create with the message and a username/email form (tools-call-elicitation)."""
    try:
        result = await ctx.elicit(message=message, schema=UserInfo)
    except Exception as e:
        return f"Elicitation not supported or error: {e}"
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return f"User response: action={result.action}, content={content}"


class Sep1034Defaults(BaseModel):
    name: str = Field(default="John Doe", description="User name")
    age: int = Field(default=30, description="User age")
    score: float = Field(default=95.5, description="User score")
    status: str = Field(
        default="active", description="User status", json_schema_extra={"enum": ["active", "inactive", "pending"]}
    )
    verified: bool = Field(default=True, description="Verification status")


@mcp.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Elicits a form whose every primitive field has a default (elicitation-sep1034-defaults)."""
    try:
        result = await ctx.elicit(message="Please provide user information", schema=Sep1034Defaults)
    except Exception as e:
        return f"Elicitation not supported or error: {e}"
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return f"Elicitation completed: action={result.action}, content={content}"


class Sep1330Enums(BaseModel):
    untitledSingle: str = Field(
        description="Untitled single-select", json_schema_extra={"enum": ["option1", "option2", "option3"]}
    )
    titledSingle: str = Field(
        description="Titled single-select",
        json_schema_extra={
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ]
        },
    )
    legacyEnum: str = Field(
        description="Legacy titled enum",
        json_schema_extra={"enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
    )
    untitledMulti: list[str] = Field(
        description="Untitled multi-select",
        json_schema_extra={"items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
    )
    titledMulti: list[str] = Field(
        description="Titled multi-select",
        json_schema_extra={
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            }
        },
    )


@mcp.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Elicits a form with the five enum shapes of SEP-1330 (elicitation-sep1330-enums)."""
    try:
        result = await ctx.elicit(message="Please select values using different enum schema types", schema=Sep1330Enums)
    except Exception as e:
        return f"Elicitation not supported or error: {e}"
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return f"Elicitation completed: action={result.action}, content={content}"


# ---- tools: 2026-07-28 stateless protocol ---------------------------------------------------------------------------


@mcp.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs the client's sampling capability: without it a -32021 error with data.requiredCapabilities (server-stateless)."""
    caps = ctx.session.client_capabilities
    if caps is None or caps.sampling is None:
        raise MCPError(
            code=MISSING_REQUIRED_CLIENT_CAPABILITY,
            message="This tool requires the client 'sampling' capability",
            data={"requiredCapabilities": {"sampling": {}}},
        )
    return "Client declared sampling capability; proceeding."


def _dynamic() -> str:
    """Registered and removed again by the test_trigger_* tools."""
    return "dynamic"


@mcp.tool()
async def test_trigger_tool_change(ctx: Context) -> str:
    """Adds and removes a tool, then announces tools/list_changed (server-stateless, subscriptions/listen)."""
    mcp.add_tool(_dynamic, name="test_dynamic_tool")
    mcp.remove_tool("test_dynamic_tool")
    await ctx.notify_tools_changed()
    return "tool list changed"


@mcp.tool()
async def test_trigger_prompt_change(ctx: Context) -> str:
    """Adds and removes a prompt, then announces prompts/list_changed (server-stateless, subscriptions/listen)."""
    mcp.add_prompt(Prompt.from_function(_dynamic, name="test_dynamic_prompt", description="dynamic"))
    mcp.remove_prompt("test_dynamic_prompt")
    await ctx.notify_prompts_changed()
    return "prompt list changed"


@mcp.tool()
def test_x_mcp_header(
    region: Annotated[
        str, Field(description="Mirrored into the Mcp-Param-Region header", json_schema_extra={"x-mcp-header": "Region"})
    ] = "<none>",
) -> str:
    """A parameter mirrored into an Mcp-Param-* header, validated by the server (http-custom-header-server-validation)."""
    return f"region={region}"


JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@mcp.tool(name="json_schema_2020_12_tool")
def json_schema_2020_12_tool() -> str:
    """Tool with JSON Schema 2020-12 features (json-schema-2020-12: every keyword must survive tools/list)."""
    return "json_schema_2020_12_tool"


# MCPServer.tool() derives the schema from the signature and has no override; replace it after registration.
mcp._tool_manager._tools["json_schema_2020_12_tool"].parameters = JSON_SCHEMA_2020_12  # pyright: ignore[reportPrivateUsage]


# ---- tools: InputRequiredResult, multi-round-trip requests (SEP-2322, 2026-07-28) ----------------------------------

NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
CONFIRM_FORM = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def _ask_name(message: str = "What is your name?") -> ElicitRequest:
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=NAME_FORM))


def _sample(text: str, max_tokens: int) -> CreateMessageRequest:
    return CreateMessageRequest(
        params=CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=text))], max_tokens=max_tokens
        )
    )


@mcp.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str | InputRequiredResult:
    """First call: InputRequiredResult asking for a name; retry with the answer: a greeting."""
    answer = (ctx.input_responses or {}).get("user_name")
    if answer is None:
        return InputRequiredResult(input_requests={"user_name": _ask_name()})
    name = answer.content.get("name", "stranger") if isinstance(answer, ElicitResult) and answer.content else "?"
    return f"Hello, {name}!"


@mcp.tool()
async def test_input_required_result_sampling(ctx: Context) -> str | InputRequiredResult:
    """First call: InputRequiredResult asking for a sampling; retry with the answer: the model's text."""
    answer = (ctx.input_responses or {}).get("capital_question")
    if answer is None:
        return InputRequiredResult(input_requests={"capital_question": _sample("What is the capital of France?", 100)})
    text = answer.content.text if isinstance(answer, CreateMessageResult) and answer.content.type == "text" else "?"
    return f"Model said: {text}"


@mcp.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str | InputRequiredResult:
    """First call: InputRequiredResult asking for roots/list; retry with the answer: how many roots."""
    answer = (ctx.input_responses or {}).get("client_roots")
    if answer is None:
        return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})
    return f"Client exposed {len(answer.roots) if isinstance(answer, ListRootsResult) else 0} root(s)."


@mcp.tool()
async def test_input_required_result_request_state(ctx: Context) -> str | InputRequiredResult:
    """InputRequiredResult with a requestState that must come back unchanged with the answer."""
    if "confirm" in (ctx.input_responses or {}) and ctx.request_state == "request-state-nonce":
        return "state-ok: confirmation received"
    confirm = ElicitRequest(params=ElicitRequestFormParams(message="Please confirm", requested_schema=CONFIRM_FORM))
    return InputRequiredResult(input_requests={"confirm": confirm}, request_state="request-state-nonce")


@mcp.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str | InputRequiredResult:
    """One InputRequiredResult carrying an elicitation, a sampling and a roots request together."""
    if {"user_name", "greeting", "client_roots"} <= (ctx.input_responses or {}).keys():
        return "All inputs received."
    return InputRequiredResult(
        input_requests={
            "user_name": _ask_name(),
            "greeting": _sample("Generate a greeting", 50),
            "client_roots": ListRootsRequest(),
        },
        request_state="multiple-inputs",
    )


@mcp.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str | InputRequiredResult:
    """Three rounds (name, colour, answer) with a requestState that changes each round."""
    state = json.loads(ctx.request_state) if ctx.request_state else {"round": 0}
    responses = ctx.input_responses or {}
    if state["round"] == 1 and "step1" in responses:
        step1 = responses["step1"]
        name = step1.content.get("name") if isinstance(step1, ElicitResult) and step1.content else None
        colour_form = {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}
        ask = ElicitRequest(
            params=ElicitRequestFormParams(message="Step 2: What is your favorite color?", requested_schema=colour_form)
        )
        return InputRequiredResult(input_requests={"step2": ask}, request_state=json.dumps({"round": 2, "name": name}))
    if state["round"] == 2 and "step2" in responses:
        step2 = responses["step2"]
        colour = step2.content.get("color") if isinstance(step2, ElicitResult) and step2.content else None
        return f"{state.get('name')} likes {colour}."
    # First call, or a missing or out-of-order answer: start again.
    return InputRequiredResult(
        input_requests={"step1": _ask_name("Step 1: What is your name?")}, request_state=json.dumps({"round": 1})
    )


@mcp.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str | InputRequiredResult:
    """Issues a requestState; the SDK rejects an echo whose signature does not verify."""
    if ctx.request_state is None:
        confirm = ElicitRequest(params=ElicitRequestFormParams(message="Please confirm", requested_schema=CONFIRM_FORM))
        return InputRequiredResult(input_requests={"confirm": confirm}, request_state="round-1")
    return f"state-ok: {ctx.request_state}"


@mcp.tool()
async def test_input_required_result_capabilities(ctx: Context) -> InputRequiredResult:
    """Asks only for the inputs (sampling, elicitation) the client declared it supports."""
    caps = ctx.client_capabilities
    requests: dict[str, InputRequest] = {}
    if caps is None or caps.sampling is not None:
        requests["sample"] = _sample("Say hello", 50)
    if caps is None or caps.elicitation is not None:
        requests["ask"] = _ask_name()
    return InputRequiredResult(input_requests=requests, request_state="capability-gated")


# ---- resources ------------------------------------------------------------------------------------------------------


@mcp.resource("test://static-text", mime_type="text/plain")
def static_text() -> str:
    """A static text resource (resources-read-text)."""
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", mime_type="image/png")
def static_binary() -> bytes:
    """A static binary resource, a PNG (resources-read-binary)."""
    return base64.b64decode(PNG_BASE64)


@mcp.resource("test://template/{id}/data", mime_type="application/json")
def template_data(id: str) -> str:
    """A resource template; {id} is substituted (resources-templates-read)."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


@mcp.resource("test://watched-resource", mime_type="text/plain")
def watched() -> str:
    """A resource clients subscribe to (resources-subscribe, resources-unsubscribe)."""
    return "Watched resource content"


async def subscribe(ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
    subscriptions.add(str(params.uri))
    return EmptyResult()


async def unsubscribe(ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
    subscriptions.discard(str(params.uri))
    return EmptyResult()


async def set_level(ctx: ServerRequestContext, params: SetLevelRequestParams) -> EmptyResult:
    log.info("log level set to %s", params.level)
    return EmptyResult()


# MCPServer has no public hook for these three methods yet; the low-level server does.
mcp._lowlevel_server.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)  # pyright: ignore[reportPrivateUsage]
mcp._lowlevel_server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)  # pyright: ignore[reportPrivateUsage]
mcp._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)  # pyright: ignore[reportPrivateUsage]


# ---- prompts ----------------------------------------------------------------------------------------------------------


@mcp.prompt()
def test_simple_prompt() -> list[UserMessage]:
    """A prompt without arguments (prompts-get-simple)."""
    return [UserMessage(role="user", content=TextContent(type="text", text="This is a simple prompt for testing."))]


@mcp.prompt()
def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
    """A prompt with two required arguments (prompts-get-with-args, completion-complete)."""
    text = f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
    return [UserMessage(role="user", content=TextContent(type="text", text=text))]


@mcp.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:
    """A prompt whose first message embeds a resource (prompts-get-embedded-resource)."""
    resource = TextResourceContents(uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing.")
    return [
        UserMessage(role="user", content=EmbeddedResource(type="resource", resource=resource)),
        UserMessage(role="user", content=TextContent(type="text", text="Please process the embedded resource above.")),
    ]


@mcp.prompt()
def test_prompt_with_image() -> list[UserMessage]:
    """A prompt whose first message is an image (prompts-get-with-image)."""
    return [
        UserMessage(role="user", content=ImageContent(type="image", data=PNG_BASE64, mime_type="image/png")),
        UserMessage(role="user", content=TextContent(type="text", text="Please analyze the image above.")),
    ]


@mcp.prompt()
async def test_input_required_result_prompt(ctx: Context) -> list[UserMessage] | InputRequiredResult:
    """prompts/get answered with an InputRequiredResult first (input-required-result-non-tool-request)."""
    answer = (ctx.input_responses or {}).get("user_context")
    if answer is None:
        form = {"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]}
        ask = ElicitRequest(
            params=ElicitRequestFormParams(message="What context should the prompt use?", requested_schema=form)
        )
        return InputRequiredResult(input_requests={"user_context": ask})
    text = answer.content.get("context", "?") if isinstance(answer, ElicitResult) and answer.content else "?"
    return [UserMessage(role="user", content=TextContent(type="text", text=f"Use the following context: {text}"))]


# ---- completion ------------------------------------------------------------------------------------------------------

SUGGESTIONS = ["paris", "park", "party", "test", "testing", "tested"]


@mcp.completion()
async def complete(
    ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, context: CompletionContext | None
) -> Completion:
    """Suggestions that start with the typed value (completion-complete)."""
    values = [s for s in SUGGESTIONS if s.startswith(argument.value)]
    return Completion(values=values, total=len(values), has_more=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    mcp.run(
        transport="streamable-http",
        host="127.0.0.1",
        port=args.port,
        event_store=MemoryEventStore(),
        retry_interval=100,  # ms: how soon a client reconnects after test_reconnection closes its stream
    )


if __name__ == "__main__":
    main()
