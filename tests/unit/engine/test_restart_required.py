"""Settings read only at start are reported as restart-required, never half-applied."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ongoingai.engine.config import GatewayConfig
from ongoingai.engine.runtime import _restart_required


def _snap(data: dict) -> SimpleNamespace:
    return SimpleNamespace(config=GatewayConfig.model_validate(data))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"server": {"port": 9000}}, "server.port"),
        ({"server": {"host": "127.0.0.1"}}, "server.host"),
        ({"server": {"workers": 4}}, "server.workers"),
        ({"storage": {"driver": "postgres", "dsn": "postgres://x/y"}}, "storage.driver"),
        ({"storage": {"path": "./other.db"}}, "storage.path"),
        ({"storage": {"retention_days": 7}}, "storage.retention_days"),
        ({"tracing": {"queue_capacity": 10}}, "tracing.queue_capacity"),
        ({"tracing": {"batch_size": 10}}, "tracing.batch_size"),
        ({"tracing": {"flush_interval_ms": 10}}, "tracing.flush_interval_ms"),
    ],
)
def test_a_start_only_setting_change_is_reported(change: dict, key: str):
    assert key in _restart_required(_snap({}), _snap(change))  # type: ignore[arg-type]


def test_live_settings_are_not_reported():
    change = {"tracing": {"capture_bodies": True, "body_max_size": 10}, "pii": {"mode": "off"}}
    assert _restart_required(_snap({}), _snap(change)) == ()  # type: ignore[arg-type]
