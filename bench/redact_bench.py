"""Redaction core benchmark: BodyRedactor.redact on realistic bodies (bench/README.md, Redaction).

Bodies (deterministic, built here):

- chat-completion request JSON of about 1 KB, 100 KB and 1 MB: a system prompt and alternating
  user/assistant messages of prose with numbers, years, decimals, URLs and snake_case words,
  plus ``model``, ``max_tokens``, ``temperature``, ``stream``;
- a 1 MB SSE response body: ``chat.completion.chunk`` events of a few words each.

Each body comes in two variants: ``pii`` sprinkles one value per ~1 KB of prose (emails, phone
numbers, SSNs, card numbers, IPv4 addresses, provider keys, ghp_ tokens, JWTs), and ``clean`` has
none. Every detector is on (the packaged default policy). The figure is the median over N runs of
one ``redact`` call (decode, parse, walk, scan, and re-encode when something changed), as ms per
body and MB/s. For scale, ``naive`` is the straightforward way on the same body: ``json.loads``,
one ``re.sub`` per detector pattern over every string (or the whole text), ``json.dumps``.

Run: ``make bench-redact`` or ``.venv/bin/python bench/redact_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from run import cpu_model, git_commit

from ongoingai.engine.models.redaction import RedactionPolicy, Replacement
from ongoingai.engine.redaction import detectors, redactor_for

if TYPE_CHECKING:
    from collections.abc import Callable

KB = 1024
MB = 1024 * KB

_WORDS = (  # noqa: SIM905 - prose reads better as prose
    "the model should summarise the quarterly report and list every open question about "
    "revenue growth churn and the migration plan for customers in the enterprise tier please "
    "keep the answer short use bullet points where helpful and cite the section you relied on "
    "the assistant explained that latency improved after caching was enabled on the edge nodes "
    "while error rates stayed flat during the rollout window according to the dashboard"
).split()
_FILLERS = (
    "in 2023",
    "by 12.5 percent",
    "about 40 items",
    "version 1.2.3.4.5",
    "build 10.0.19041.1",
    "see https://example.org/docs/guide",
    "the retry_after header",
    "sk-learn and task-force notes",
    "order #48213",
    "at 09:30",
)
_PII = (
    "jane.doe@example.com",
    "ops+alerts@corp.example.org",
    "(555) 123-4567",
    "+1 415 555 0100",
    "123-45-6789",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "10.20.30.40",
    "192.168.1.254",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
)


def _prose(rng: random.Random, size: int, *, pii: bool) -> str:
    """About ``size`` characters of prose; with ``pii``, one value per ~1 KB."""
    parts: list[str] = []
    length = 0
    next_pii = rng.randrange(100, 400)
    while length < size:
        part = rng.choice(_FILLERS) if rng.random() < 0.08 else rng.choice(_WORDS)
        if pii and length >= next_pii:
            part = rng.choice(_PII)
            next_pii = length + rng.randrange(700, 1300)
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)


def chat_body(size: int, *, pii: bool, seed: int = 7) -> bytes:
    """A chat-completion request JSON of about ``size`` bytes."""
    rng = random.Random(seed)
    messages = [{"role": "system", "content": "You are a concise analyst. Answer in English."}]
    chunk = min(4 * KB, max(256, size // 4))
    body: dict[str, object] = {"model": "gpt-4o-mini", "messages": messages}
    used = 200
    while used < size:
        role = "user" if len(messages) % 2 else "assistant"
        content = _prose(rng, min(chunk, size - used), pii=pii)
        messages.append({"role": role, "content": content})
        used += len(content) + 40
    body |= {"max_tokens": 512, "temperature": 0.7, "stream": False, "user": "bench"}
    return json.dumps(body, separators=(",", ":")).encode()


def sse_body(size: int, *, pii: bool, seed: int = 11) -> bytes:
    """An OpenAI streaming response of about ``size`` bytes (the real event framing)."""
    rng = random.Random(seed)
    text = _prose(rng, size // 6, pii=pii).split(" ")
    events: list[str] = []
    used = 0
    index = 0
    while used < size:
        words = " " + " ".join(text[index % len(text) : index % len(text) + 3])
        index += 3
        chunk = {
            "id": "chatcmpl-9xYbench0000000000000000",
            "object": "chat.completion.chunk",
            "created": 1735689600,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": {"content": words}, "finish_reason": None}],
        }
        event = f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n"
        events.append(event)
        used += len(event)
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


_NAIVE_PATTERNS = (
    detectors.EMAIL,
    detectors.CREDIT_CARD_RUN,
    detectors.SSN,
    detectors.PHONE,
    detectors.IPV4,
    detectors.PROVIDER_KEY,
    detectors.TOKEN_PREFIXED,
    detectors.TOKEN_JWT,
)


def naive_redact(body: bytes, replacement: Replacement, workspace: str) -> bytes:
    """The straightforward implementation, as a yardstick (no Luhn, no masking)."""

    def scan(text: str) -> str:
        for pattern in _NAIVE_PATTERNS:
            text = pattern.sub(lambda m: replacement.placeholder("x", m.group(), workspace), text)
        return text

    def walk(node: object) -> object:
        if isinstance(node, str):
            return scan(node)
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node

    text = body.decode()
    try:
        document = json.loads(text)
    except ValueError:
        return scan(text).encode()
    return json.dumps(walk(document), ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    runs: int


@dataclass(frozen=True)
class Row:
    case: Case
    median_ms: float
    naive_ms: float
    counts: dict[str, int]

    @property
    def mb_per_s(self) -> float:
        return len(self.case.body) / MB / (self.median_ms / 1000)


def cases(scale: float) -> list[Case]:
    out: list[Case] = []
    for variant, pii in (("pii", True), ("clean", False)):
        out += [
            Case(f"chat JSON 1 KB, {variant}", chat_body(1 * KB, pii=pii), int(3000 * scale)),
            Case(f"chat JSON 100 KB, {variant}", chat_body(100 * KB, pii=pii), int(100 * scale)),
            Case(f"chat JSON 1 MB, {variant}", chat_body(1 * MB, pii=pii), int(20 * scale)),
            Case(f"SSE text 1 MB, {variant}", sse_body(1 * MB, pii=pii), int(20 * scale)),
        ]
    return out


def _median_ms(runs: int, call: Callable[[], object]) -> float:
    call()  # warm-up (compiles, caches)
    times: list[float] = []
    for _ in range(max(runs, 3)):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(case: Case) -> Row:
    policy = RedactionPolicy.model_validate({"kind": "redaction", "version": 1})
    redactor = redactor_for(policy)
    result = redactor.redact(case.body, workspace_id="bench")
    median = _median_ms(case.runs, lambda: redactor.redact(case.body, workspace_id="bench"))
    naive = _median_ms(
        max(case.runs // 5, 3), lambda: naive_redact(case.body, policy.replacement, "bench")
    )
    return Row(case, median, naive, dict(result.counts))


def _size(n: int) -> str:
    return f"{n / MB:.2f} MB" if n >= MB else f"{n / KB:.1f} KB"


def table(rows: list[Row]) -> str:
    lines = [
        "| body | size | runs | ms per body (median) | MB/s | naive ms | matches |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(row.counts.items())) or "none"
        lines.append(
            f"| {row.case.name} | {_size(len(row.case.body))} | {max(row.case.runs, 3)} "
            f"| {row.median_ms:.3f} | {row.mb_per_s:.1f} | {row.naive_ms:.3f} | {counts} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the runs")
    args = parser.parse_args(argv)
    rows = [measure(case) for case in cases(0.1 if args.quick else 1.0)]
    print(
        f"Redaction core, all detectors on: commit {git_commit()}, {cpu_model()}, "
        f"Python {platform.python_version()}, one thread\n"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
