"""Telemetry: OpenTelemetry spans and metrics, a Prometheus scrape endpoint, credential scrubbing.

`sinks` is the seam: the request path reports each finished exchange and each trace-writer
event once, to every configured metrics sink (OTLP push, Prometheus scrape), through
`MetricsSinks`. With telemetry off there are no sinks and reporting costs one empty loop.
"""
