"""Lineage order (contract §4.8) and the metadata integer coercion it relies on (§4.7)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from ongoingai.engine.lineage import coerce_bool, coerce_int, lineage_of, sort_lineage
from ongoingai.engine.trace import TraceRecord

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _trace(trace_id: str, minutes: int = 0, **metadata: Any) -> TraceRecord:
    when = T0 + dt.timedelta(minutes=minutes)
    return TraceRecord(
        id=trace_id,
        timestamp=when,
        provider="openai",
        model="gpt-4o-mini",
        request_method="POST",
        request_path="/openai/v1/chat/completions",
        response_status=200,
        metadata=metadata,
        created_at=when,
    )


def _ids(records: list[TraceRecord]) -> list[str]:
    return [r.id for r in records]


def test_explicit_sequences_win_over_reversed_timestamps():
    traces = [
        _trace("step3", 0, lineage_checkpoint_seq=3),
        _trace("step1", 2, lineage_checkpoint_seq=1),
        _trace("step2", 1, lineage_checkpoint_seq=2),
    ]
    assert _ids(sort_lineage(traces)) == ["step1", "step2", "step3"]


def test_partial_metadata_is_completed_from_parents_and_children():
    traces = [
        _trace("step3", 0, lineage_parent_checkpoint_id="step2"),
        _trace("step2", 1, lineage_parent_checkpoint_id="step1", lineage_checkpoint_seq=2),
        _trace("step1", 2),
    ]
    assert _ids(sort_lineage(traces)) == ["step1", "step2", "step3"]


def test_parents_come_before_children_even_with_a_lower_child_sequence():
    traces = [
        _trace("child", 0, lineage_parent_checkpoint_id="root", lineage_checkpoint_seq=1),
        _trace("root", 5, lineage_checkpoint_seq=4),
    ]
    assert _ids(sort_lineage(traces)) == ["root", "child"]


def test_without_sequences_time_then_id_decide():
    traces = [_trace("b", 1), _trace("c", 0), _trace("a", 1)]
    assert _ids(sort_lineage(traces)) == ["c", "a", "b"]


def test_a_cycle_is_still_listed_once_each():
    traces = [
        _trace("x", 0, lineage_parent_checkpoint_id="y"),
        _trace("y", 1, lineage_parent_checkpoint_id="x"),
        _trace("z", 2),
    ]
    assert sorted(_ids(sort_lineage(traces))) == ["x", "y", "z"]
    assert _ids(sort_lineage(traces))[0] == "z"


def test_checkpoint_ids_from_metadata_link_parents():
    traces = [
        _trace("t2", 0, lineage_checkpoint_id="cp-2", lineage_parent_checkpoint_id="cp-1"),
        _trace("t1", 1, lineage_checkpoint_id="cp-1"),
    ]
    assert _ids(sort_lineage(traces)) == ["t1", "t2"]


def test_lineage_of_defaults_checkpoint_to_the_trace_and_group_to_the_column():
    record = dataclasses.replace(
        _trace("abc", lineage_thread_id=" th ", lineage_checkpoint_seq="2"),
        trace_group_id="group-col",
    )
    lineage = lineage_of(record)
    assert (lineage.group_id, lineage.thread_id, lineage.checkpoint_id) == (
        "group-col",
        "th",
        "abc",
    )
    assert lineage.as_json() == {
        "group_id": "group-col",
        "thread_id": "th",
        "checkpoint_id": "abc",
        "checkpoint_seq": 2,
        "immutable": True,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42.9, 42),
        (7, 7),
        ("  -12  ", -12),
        (True, None),
        (None, None),
        ("x", None),
        (float("nan"), None),
        ([1], None),
    ],
)
def test_coerce_int(value, expected):
    assert coerce_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (" TRUE ", True),
        ("false", False),
        ("yes", None),
        (1, None),
        (None, None),
    ],
)
def test_coerce_bool(value, expected):
    assert coerce_bool(value) is expected


def test_a_quoted_false_makes_a_checkpoint_mutable():
    assert lineage_of(_trace("m", lineage_immutable="False")).immutable is False
    assert lineage_of(_trace("m", lineage_immutable="maybe")).immutable is True
