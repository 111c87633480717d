"""Removing the injected usage-only chunk while relaying every other byte unchanged, at once."""

from __future__ import annotations

from ongoingai.engine.providers import UsageChunkFilter
from tests.unit.providers.wire_samples import (
    CHAT_DONE_EVENT,
    CHAT_STREAM,
    CHAT_USAGE_EVENT,
    bytewise,
    chat_chunk,
    chat_stream_events,
    crlf,
    every_single_split,
    random_splits,
)

KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
CONTENT = chat_chunk(b'[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]')


def _usage_events(events: list[bytes]) -> set[bytes]:
    return {e for e in events if b'"choices":[]' in e and b'"usage":{' in e}


def _evidence_end(event: bytes) -> int:
    """How many bytes of a non-usage event prove it is not the usage chunk."""
    if event.startswith((b":", b"\r", b"\n")):
        return 1
    if event.startswith(b"data: ["):
        return len(b"data: [")
    marker = event.find(b'"choices":[{')
    return marker + len(b'"choices":[{') if marker >= 0 else len(event)


def _check(events: list[bytes], chunks: list[bytes]) -> None:
    """Feed `chunks` and check the filter's promises after every call and at the end.

    After each call the client has received: every complete non-usage event, in order, and of
    the trailing partial event either nothing (held) or all of it; all of it as soon as it is
    provably not the usage chunk.
    """
    stream = b"".join(events)
    assert b"".join(chunks) == stream
    usage = _usage_events(events)
    ends, total = [], 0
    for event in events:
        total += len(event)
        ends.append(total)
    filt = UsageChunkFilter()
    out, received = b"", 0
    for chunk in chunks:
        out += filt.feed(chunk)
        received += len(chunk)
        done = [i for i, end in enumerate(ends) if end <= received]
        complete = b"".join(events[i] for i in done if events[i] not in usage)
        start = ends[done[-1]] if done else 0
        tail = stream[start:received]
        if not tail:
            assert out == complete
            continue
        current = events[len(done)]
        if current not in usage and len(tail) >= _evidence_end(current):
            assert out == complete + tail, (received, tail[:40])
        else:
            assert out in (complete, complete + tail), (received, tail[:40])
    out += filt.flush()
    assert out == b"".join(e for e in events if e not in usage)
    assert filt.removed == len(usage)


def _realistic_streams() -> list[list[bytes]]:
    events = chat_stream_events(deltas=12)
    with_keepalives = [KEEPALIVE, *events[:5], KEEPALIVE, *events[5:-2], KEEPALIVE, *events[-2:]]
    return [events, crlf(events), with_keepalives, crlf(with_keepalives)]


def test_the_usage_only_chunk_is_removed_and_everything_else_relayed_as_is() -> None:
    filt = UsageChunkFilter()
    out = filt.feed(CHAT_STREAM) + filt.flush()
    assert out == CHAT_STREAM.replace(CHAT_USAGE_EVENT, b"")
    assert out.endswith(b'"finish_reason":"stop"}],"usage":null}\n\n' + CHAT_DONE_EVENT)
    assert filt.removed == 1


def test_random_chunkings_reproduce_the_stream_minus_the_usage_event() -> None:
    for events in _realistic_streams():
        stream = b"".join(events)
        for seed in range(300):
            _check(events, random_splits(stream, seed, max_cuts=60))


def test_every_single_split_point_and_bytewise_chunking_are_handled() -> None:
    short = chat_stream_events(deltas=2)
    for events in ([KEEPALIVE, *short], crlf(short)):
        stream = b"".join(events)
        for chunks in every_single_split(stream):
            _check(events, chunks)
        _check(events, bytewise(stream))


def test_whole_events_go_out_in_the_call_that_brought_them() -> None:
    filt = UsageChunkFilter()
    for event in chat_stream_events(deltas=3):
        expected = b"" if event == CHAT_USAGE_EVENT else event
        assert filt.feed(event) == expected
    assert filt.flush() == b""


def test_several_events_in_one_chunk_keep_their_exact_bytes_around_the_removed_one() -> None:
    filt = UsageChunkFilter()
    chunk = CONTENT + CHAT_USAGE_EVENT + CHAT_DONE_EVENT
    assert filt.feed(chunk) == CONTENT + CHAT_DONE_EVENT


def test_a_content_chunk_split_after_its_choices_start_is_relayed_immediately() -> None:
    cut = CONTENT.index(b'"choices":[{') + len(b'"choices":[{')
    filt = UsageChunkFilter()
    assert filt.feed(CONTENT[:cut]) == CONTENT[:cut]
    assert filt.feed(CONTENT[cut:-1]) == CONTENT[cut:-1]
    assert filt.feed(CONTENT[-1:] + CHAT_USAGE_EVENT[:50]) == CONTENT[-1:]
    assert filt.feed(CHAT_USAGE_EVENT[50:]) == b""


def test_a_held_partial_event_that_is_not_the_usage_chunk_goes_out_when_its_end_arrives() -> None:
    null_usage_end = chat_chunk(b"[]", b"null")
    filt = UsageChunkFilter()
    assert filt.feed(null_usage_end[:-2]) == b""
    assert filt.feed(null_usage_end[-2:]) == null_usage_end
    assert filt.removed == 0


def test_done_and_keepalive_comments_are_never_held() -> None:
    filt = UsageChunkFilter()
    assert filt.feed(b"data: [DO") == b"data: [DO"
    assert filt.feed(b"NE]\n") == b"NE]\n"
    assert filt.feed(b"\n: ping") == b"\n: ping"
    assert filt.flush() == b""


def test_chunks_with_usage_beside_choices_or_null_usage_are_not_removed() -> None:
    events = [
        chat_chunk(b"[]", b"null"),
        chat_chunk(
            b'[{"index":0,"delta":{},"finish_reason":"stop"}]',
            b'{"prompt_tokens":5,"completion_tokens":1}',
        ),
        b'data: {"choices": [], "usage": "n/a"}\n\n',
        b'event: usage\ndata: {"choices":[{"index":0}],"usage":{"prompt_tokens":1}}\n\n',
    ]
    filt = UsageChunkFilter()
    stream = b"".join(events)
    assert filt.feed(stream) + filt.flush() == stream
    assert filt.removed == 0


def test_a_spaced_usage_only_chunk_is_removed() -> None:
    spaced = b'data: {"id": "x", "choices": [ ], "usage": {"prompt_tokens": 3}}\r\n\r\n'
    filt = UsageChunkFilter()
    assert filt.feed(CONTENT + spaced + CHAT_DONE_EVENT) == CONTENT + CHAT_DONE_EVENT


def test_a_stream_without_a_usage_chunk_is_relayed_byte_for_byte() -> None:
    stream = CHAT_STREAM.replace(CHAT_USAGE_EVENT, b"")
    for seed in range(50):
        filt = UsageChunkFilter()
        out = b"".join(filt.feed(c) for c in random_splits(stream, seed)) + filt.flush()
        assert out == stream
        assert filt.removed == 0


def test_flush_releases_a_held_truncated_event_but_drops_an_unterminated_usage_chunk() -> None:
    filt = UsageChunkFilter()
    assert filt.feed(b'data: {"id":"chatcmpl-1"') == b""
    assert filt.flush() == b'data: {"id":"chatcmpl-1"'
    filt = UsageChunkFilter()
    assert filt.feed(CHAT_USAGE_EVENT.rstrip(b"\n")) == b""
    assert filt.flush() == b""
    assert filt.removed == 1


def test_an_oversized_partial_event_is_relayed_rather_than_held() -> None:
    filt = UsageChunkFilter()
    huge = b'data: {"id":"' + b"x" * 70_000
    assert filt.feed(huge) == huge
    assert filt.feed(b'"}\n\n') == b'"}\n\n'


def test_empty_chunks_relay_nothing_and_keep_state() -> None:
    filt = UsageChunkFilter()
    assert filt.feed(b"") == b""
    assert filt.feed(CHAT_USAGE_EVENT[:30]) == b""
    assert filt.feed(b"") == b""
    assert filt.feed(CHAT_USAGE_EVENT[30:] + CHAT_DONE_EVENT) == CHAT_DONE_EVENT
