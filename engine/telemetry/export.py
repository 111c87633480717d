"""Where telemetry goes: OTLP/HTTP endpoint rules (contract §7.4) and the scrubbing exporter.

The scrubbing exporter is the last line of defence: whatever a span picked up (an error text
with a DSN password, a header value someone put in an attribute) is scrubbed right before it
leaves the process, so the guarantee does not depend on every call site remembering to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from ongoingai.engine.telemetry.scrub import scrub

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["OtlpEndpoint", "ScrubbingSpanExporter", "parse_endpoint"]


@dataclass(frozen=True, slots=True)
class OtlpEndpoint:
    """A resolved OTLP/HTTP collector base URL (signal paths are appended to it)."""

    base_url: str
    insecure: bool

    def signal_url(self, signal: str) -> str:
        """`<base>/v1/<signal>` (`traces` or `metrics`)."""
        return f"{self.base_url}/v1/{signal}"


def parse_endpoint(endpoint: str, insecure: bool) -> OtlpEndpoint:
    """Resolve `observability.otel.endpoint` as the original does.

    `host:port` uses the `insecure` flag; an `http://` URL forces plaintext and `https://`
    forces TLS whatever the flag says; other schemes are rejected.

    Raises:
        ValueError: empty endpoint or a scheme other than http/https.
    """
    text = endpoint.strip()
    if not text:
        raise ValueError("otel endpoint must not be empty")
    if "://" not in text:
        scheme = "http" if insecure else "https"
        return OtlpEndpoint(f"{scheme}://{text.rstrip('/')}", insecure)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"otel endpoint scheme must be http or https (got {parts.scheme!r})")
    if not parts.netloc:
        raise ValueError(f"otel endpoint must include a host (got {text!r})")
    path = parts.path.rstrip("/")
    return OtlpEndpoint(f"{parts.scheme}://{parts.netloc}{path}", parts.scheme == "http")


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, tuple | list):
        return tuple(scrub(v) if isinstance(v, str) else v for v in value)
    return value


def _scrub_attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: _scrub_value(v) for k, v in (attrs or {}).items()}


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` with every string attribute, event attribute and status text scrubbed."""
    status = span.status
    if status.description:
        status = Status(status.status_code, scrub(status.description))
    events = [Event(e.name, _scrub_attrs(e.attributes), e.timestamp) for e in span.events]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_scrub_attrs(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingSpanExporter(SpanExporter):
    """Wraps an exporter; every span is credential-scrubbed before it is handed over."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Scrub, then export through the wrapped exporter."""
        return self._inner.export([scrub_span(s) for s in spans])

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._inner.force_flush(timeout_millis)
