"""The incremental SSE splitter: whole events out of arbitrary chunks, with bounded memory."""

from __future__ import annotations

from ongoingai.engine.providers.sse import SseEvent, SseSplitter, parse_event
from tests.unit.providers.wire_samples import (
    CHAT_STREAM,
    bytewise,
    chat_stream_events,
    crlf,
    messages_stream_events,
    random_splits,
)


def _events(chunks: list[bytes], **kwargs: int) -> list[SseEvent]:
    splitter = SseSplitter(**kwargs)
    return [event for chunk in chunks for event in splitter.feed(chunk)]


def test_an_event_split_across_chunks_comes_out_whole_once_its_blank_line_arrives() -> None:
    splitter = SseSplitter()
    assert splitter.feed(b'data: {"a"') == []
    assert splitter.feed(b": 1}\n") == []
    assert splitter.feed(b"\n") == [SseEvent(None, b'{"a": 1}')]


def test_several_events_in_one_chunk_come_out_in_order() -> None:
    events = _events([b"data: one\n\ndata: two\n\nevent: x\ndata: three\n\n"])
    assert events == [SseEvent(None, b"one"), SseEvent(None, b"two"), SseEvent("x", b"three")]


def test_crlf_separators_and_mixed_line_endings_end_events() -> None:
    events = _events([b"data: a\r\n\r\ndata: b\r\n\ndata: c\n\r\nevent: e\r\ndata: d\r\n\r\n"])
    assert events == [
        SseEvent(None, b"a"),
        SseEvent(None, b"b"),
        SseEvent(None, b"c"),
        SseEvent("e", b"d"),
    ]


def test_a_crlf_boundary_split_inside_its_four_bytes_is_still_found() -> None:
    for cut in range(1, 4):
        head, tail = b"data: a\r\n\r\n"[: 7 + cut], b"data: a\r\n\r\n"[7 + cut :]
        assert _events([head, tail + b"data: b\r\n\r\n"]) == [
            SseEvent(None, b"a"),
            SseEvent(None, b"b"),
        ]


def test_multi_line_data_is_joined_with_newlines_and_one_leading_space_is_dropped() -> None:
    assert parse_event(b"data: first\ndata:second\ndata:  third") == SseEvent(
        None, b"first\nsecond\n third"
    )


def test_comments_ids_and_retry_fields_are_ignored_and_dataless_events_not_dispatched() -> None:
    events = _events([b": keep-alive\n\nid: 7\nretry: 10\ndata: x\n\nevent: ping\n\n"])
    assert events == [SseEvent(None, b"x")]


def test_an_empty_chunk_changes_nothing() -> None:
    splitter = SseSplitter()
    assert splitter.feed(b"") == []
    assert splitter.feed(b"data: x\n\n") == [SseEvent(None, b"x")]


def test_any_chunking_of_a_stream_gives_the_same_events() -> None:
    for events in (chat_stream_events(), messages_stream_events(), crlf(messages_stream_events())):
        stream = b"".join(events)
        whole = _events([stream])
        assert len(whole) == len(events)
        assert _events(bytewise(stream)) == whole
        for seed in range(200):
            assert _events(random_splits(stream, seed)) == whole, seed


def test_an_oversized_partial_event_is_dropped_counted_and_the_stream_recovers() -> None:
    splitter = SseSplitter(max_event_bytes=64)
    assert splitter.feed(b"data: " + b"x" * 100) == []
    assert splitter.dropped == 1
    assert splitter.feed(b"y" * 1000) == []
    assert splitter.feed(b"z\n\ndata: after\n\n") == [SseEvent(None, b"after")]
    assert splitter.dropped == 1


def test_the_buffer_of_a_dropped_event_stays_bounded_while_it_keeps_growing() -> None:
    splitter = SseSplitter(max_event_bytes=64)
    for _ in range(1000):
        splitter.feed(b"data: " + b"x" * 1000)
    assert len(splitter._buf) <= 64
    assert splitter.feed(b"\r\n\r\ndata: ok\r\n\r\n") == [SseEvent(None, b"ok")]


def test_an_oversized_event_whose_end_is_split_from_its_body_is_still_skipped_whole() -> None:
    splitter = SseSplitter(max_event_bytes=16)
    assert splitter.feed(b"data: " + b"x" * 40 + b"\n") == []
    assert splitter.feed(b"\ndata: next\n\n") == [SseEvent(None, b"next")]


def test_a_complete_large_event_in_one_chunk_is_not_dropped() -> None:
    big = b"data: " + b"x" * 200 + b"\n\n"
    assert _events([big], max_event_bytes=64) == [SseEvent(None, b"x" * 200)]


def test_a_realistic_chat_stream_yields_one_event_per_frame() -> None:
    events = _events([CHAT_STREAM])
    assert len(events) == 44
    assert events[-1] == SseEvent(None, b"[DONE]")
