"""Literal provider wire payloads, as OpenAI and Anthropic document them, and chunk splitters.

The payloads are written out as the bytes that cross the wire (not built from dicts) so the
tests see the providers' real spacing, key order and `"usage": null` noise.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

# --------------------------------------------------------------------------- OpenAI chat

CHAT_REQUEST = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}],"stream":true}'
)

CHAT_BODY = b"""{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "o3-mini-2025-01-31",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Hello! How can I assist you today?",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {
      "cached_tokens": 1920,
      "audio_tokens": 0
    },
    "completion_tokens_details": {
      "reasoning_tokens": 192,
      "audio_tokens": 0,
      "accepted_prediction_tokens": 0,
      "rejected_prediction_tokens": 0
    }
  },
  "service_tier": "default"
}"""

_CHUNK_HEAD = (
    b'{"id":"chatcmpl-BQ1vh4bpVc1sSXQwYkdkRZ5wvNjbJ","object":"chat.completion.chunk",'
    b'"created":1745486965,"model":"gpt-4o-mini-2024-07-18","service_tier":"default",'
    b'"system_fingerprint":"fp_dbaca60df0",'
)


def chat_chunk(choices: bytes, usage: bytes = b"null") -> bytes:
    """One `data:` event of a chat stream requested with `include_usage` (so `"usage": null`)."""
    return b"data: " + _CHUNK_HEAD + b'"choices":' + choices + b',"usage":' + usage + b"}\n\n"


def _delta(content: str) -> bytes:
    return (
        b'[{"index":0,"delta":{"content":"'
        + content.encode()
        + b'"},"logprobs":null,"finish_reason":null}]'
    )


CHAT_USAGE = (
    b'{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,'
    b'"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},'
    b'"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
    b'"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}'
)
CHAT_USAGE_EVENT = chat_chunk(b"[]", CHAT_USAGE)
CHAT_DONE_EVENT = b"data: [DONE]\n\n"


def chat_stream_events(deltas: int = 40) -> list[bytes]:
    """A role chunk, `deltas` content chunks, a finish chunk, the usage chunk and `[DONE]`.

    With the default 40 deltas this is the 44-event stream of the benchmark.
    """
    role = (
        b'[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
        b'"logprobs":null,"finish_reason":null}]'
    )
    words = [f"word{i} " if i % 7 else 'say \\"usage\\": {\\n\\n}' for i in range(deltas)]
    finish = b'[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]'
    return [
        chat_chunk(role),
        *(chat_chunk(_delta(word)) for word in words),
        chat_chunk(finish),
        CHAT_USAGE_EVENT,
        CHAT_DONE_EVENT,
    ]


CHAT_STREAM = b"".join(chat_stream_events())

# --------------------------------------------------------------------------- OpenAI responses

RESPONSES_REQUEST = b'{"model":"gpt-4.1","input":"Say hi","stream":true}'

_RESPONSE_OPEN = (
    b'{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response",'
    b'"created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,'
    b'"instructions":"You are a helpful assistant.","max_output_tokens":null,'
    b'"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,'
    b'"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,'
    b'"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],'
    b'"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}'
)
RESPONSES_USAGE = (
    b'{"input_tokens":2037,"input_tokens_details":{"cached_tokens":1792},"output_tokens":311,'
    b'"output_tokens_details":{"reasoning_tokens":256},"total_tokens":2348}'
)
_RESPONSE_DONE = (
    _RESPONSE_OPEN.replace(b'"status":"in_progress"', b'"status":"completed"')
    .replace(
        b'"output":[]',
        b'"output":[{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654",'
        b'"type":"message","status":"completed","role":"assistant","content":[{"type":'
        b'"output_text","text":"Hi there! How can I assist you today?","annotations":[]}]}]',
    )
    .replace(b'"usage":null', b'"usage":' + RESPONSES_USAGE)
)
_ITEM = b'"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0'


def _event(name: str, data: bytes) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


def responses_stream_events(final: str = "response.completed") -> list[bytes]:
    """The documented Responses API event sequence for a short text answer."""
    done = _RESPONSE_DONE
    if final != "response.completed":
        done = done.replace(b'"status":"completed"', b'"status":"incomplete"', 1)
    deltas = [
        _event(
            "response.output_text.delta",
            b'{"type":"response.output_text.delta","sequence_number":%d,' % (4 + i)
            + _ITEM
            + b',"content_index":0,"delta":"'
            + word
            + b'"}',
        )
        for i, word in enumerate([b"Hi", b" there!", b' \\"usage\\": {}'])
    ]
    return [
        _event(
            "response.created",
            b'{"type":"response.created","sequence_number":0,"response":' + _RESPONSE_OPEN + b"}",
        ),
        _event(
            "response.in_progress",
            b'{"type":"response.in_progress","sequence_number":1,"response":'
            + _RESPONSE_OPEN
            + b"}",
        ),
        _event(
            "response.output_item.added",
            b'{"type":"response.output_item.added","sequence_number":2,"output_index":0,'
            b'"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654",'
            b'"type":"message","status":"in_progress","role":"assistant","content":[]}}',
        ),
        _event(
            "response.content_part.added",
            b'{"type":"response.content_part.added","sequence_number":3,'
            + _ITEM
            + b',"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}',
        ),
        *deltas,
        _event(
            final,
            b'{"type":"' + final.encode() + b'","sequence_number":9,"response":' + done + b"}",
        ),
    ]


RESPONSES_BODY = _RESPONSE_DONE

# --------------------------------------------------------------------------- OpenAI embeddings

EMBEDDINGS_REQUEST = b'{"model":"text-embedding-3-small","input":"The food was delicious"}'


def embeddings_body(items: int = 2, dimensions: int = 1536) -> bytes:
    """An embeddings list: `items` vectors of floats, then `model` and `usage` at the end."""
    vector = b",".join(b"%.10f" % ((i % 97) / 97.0 - 0.5) for i in range(dimensions))
    data = b",\n".join(
        b'    {\n      "object": "embedding",\n      "index": %d,\n      "embedding": [%s]\n    }'
        % (i, vector)
        for i in range(items)
    )
    return (
        b'{\n  "object": "list",\n  "data": [\n'
        + data
        + b'\n  ],\n  "model": "text-embedding-3-small",\n'
        b'  "usage": {\n    "prompt_tokens": 8,\n    "total_tokens": 8\n  }\n}\n'
    )


# --------------------------------------------------------------------------- Anthropic

MESSAGES_REQUEST = (
    b'{"model":"claude-sonnet-4-20250514","max_tokens":1024,'
    b'"messages":[{"role":"user","content":"Hello, Claude"}],"stream":true}'
)

MESSAGES_BODY = b"""{
  "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-20250514",
  "content": [
    {
      "type": "text",
      "text": "Hi! My name is Claude."
    }
  ],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 100,
    "cache_creation_input_tokens": 500,
    "cache_read_input_tokens": 2000,
    "cache_creation": {
      "ephemeral_5m_input_tokens": 500,
      "ephemeral_1h_input_tokens": 0
    },
    "output_tokens": 50,
    "service_tier": "standard"
  }
}"""


def messages_stream_events(delta_usage: bytes = b'{"output_tokens": 15}') -> list[bytes]:
    """The documented Messages stream: start, a text block, a ping, message_delta, stop."""
    start = (
        b'{"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",'
        b' "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-20250514",'
        b' "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 100,'
        b' "cache_creation_input_tokens": 500, "cache_read_input_tokens": 2000, "output_tokens": 1}}}'
    )
    text = b'{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "%s"}}'
    return [
        _event("message_start", start),
        _event(
            "content_block_start",
            b'{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}',
        ),
        _event("ping", b'{"type": "ping"}'),
        _event("content_block_delta", text % b"Hello"),
        _event("content_block_delta", text % b'! \\"usage\\": {\\"output_tokens\\": 999}'),
        _event("content_block_stop", b'{"type": "content_block_stop", "index": 0}'),
        _event(
            "message_delta",
            b'{"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null},'
            b' "usage": ' + delta_usage + b"}",
        ),
        _event("message_stop", b'{"type": "message_stop"}'),
    ]


# --------------------------------------------------------------------------- splitting


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given offsets (sorted, duplicates give empty chunks)."""
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def random_splits(data: bytes, seed: int, max_cuts: int = 40) -> list[bytes]:
    """A seeded random chunking of `data`: the property-test stand-in for hypothesis."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test chunking, not secrecy
    cuts = [rng.randint(0, len(data)) for _ in range(rng.randint(0, max_cuts))]
    return split_at(data, cuts)


def every_single_split(data: bytes) -> Iterator[list[bytes]]:
    """`data` in two pieces, for every possible cut point."""
    for cut in range(len(data) + 1):
        yield [data[:cut], data[cut:]]


def bytewise(data: bytes) -> list[bytes]:
    """`data` one byte per chunk, the worst case an upstream can produce."""
    return [data[i : i + 1] for i in range(len(data))]


def crlf(events: list[bytes]) -> list[bytes]:
    """The same events with `\\r\\n` line endings (some servers and proxies send these)."""
    return [event.replace(b"\n", b"\r\n") for event in events]
