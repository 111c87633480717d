"""Provider adapters: usage metering per dialect, SSE reassembly, stream usage injection."""

from ongoingai.engine.providers.base import MeterResult, UsageMeter
from ongoingai.engine.providers.inject import UsageChunkFilter, plan_injection
from ongoingai.engine.providers.select import meter_for, usage_injectable
from ongoingai.engine.providers.sse import SseEvent, SseSplitter

__all__ = [
    "MeterResult",
    "SseEvent",
    "SseSplitter",
    "UsageChunkFilter",
    "UsageMeter",
    "meter_for",
    "plan_injection",
    "usage_injectable",
]
