"""Semantic checks of `ongoingai.yaml` that a schema cannot express (contract §2.3).

Messages keep the original gateway's exact wording so scripts that grep them keep working, but
unlike the original every failure is reported, not only the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.auth.tokens import hash_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ongoingai.engine.config import GatewayConfig, OtelConfig, PiiScope

__all__ = ["PII_MODES", "check_config"]

#: Modes accepted wherever a PII mode is set (`shadow` is ours, SPEC §7.15).
PII_MODES = ("off", "redact_storage", "redact_upstream", "block", "shadow")
_MODES_TEXT = ", ".join(PII_MODES)

Finding = tuple[str, str]
"""(JSON pointer, message)."""


def check_config(cfg: GatewayConfig) -> list[Finding]:
    """Return every semantic problem of `cfg` as (pointer, message) pairs."""
    return [
        *_check_server(cfg),
        *_check_storage(cfg),
        *_check_auth(cfg),
        *_check_pii(cfg),
        *_check_otel(cfg.observability.otel),
    ]


def _check_server(cfg: GatewayConfig) -> Iterator[Finding]:
    port = cfg.server.port
    if not 1 <= port <= 65535:
        yield "/server/port", f"server.port must be between 1 and 65535 (got {port})"


def _check_storage(cfg: GatewayConfig) -> Iterator[Finding]:
    driver = cfg.storage.driver.strip()
    if driver == "sqlite":
        if not cfg.storage.path.strip():
            yield "/storage/path", "storage.path is required when storage.driver=sqlite"
    elif driver == "postgres":
        dsn = cfg.storage.dsn.strip()
        if not dsn:
            yield "/storage/dsn", "storage.dsn is required when storage.driver=postgres"
        elif not dsn.startswith(("postgres://", "postgresql://")):
            yield "/storage/dsn", "storage.dsn must be a postgres:// or postgresql:// URL"
    else:
        msg = f'storage.driver must be one of sqlite, postgres (got "{cfg.storage.driver}")'
        yield "/storage/driver", msg


def _check_auth(cfg: GatewayConfig) -> Iterator[Finding]:
    if not cfg.auth.header.strip():
        yield "/auth/header", "auth.header must not be empty"
    seen: set[str] = set()
    hashes: set[str] = set()
    for i, key in enumerate(cfg.auth.keys):
        if not key.id.strip():
            yield f"/auth/keys/{i}/id", "gateway key id cannot be empty"
        if key.id in seen:
            yield f"/auth/keys/{i}/id", f'duplicate gateway key id "{key.id}"'
        seen.add(key.id)
        if not key.token.strip() and not key.token_hash.strip():
            yield f"/auth/keys/{i}/token", "gateway key token cannot be empty"
            continue
        digest = key.token_hash.strip().lower() or hash_token(key.token)
        if digest in hashes:
            yield f"/auth/keys/{i}/token", "duplicate gateway key token in auth config"
        hashes.add(digest)
    if cfg.auth.key_max_staleness_ms < cfg.auth.key_refresh_ms:
        yield (
            "/auth/key_max_staleness_ms",
            "auth.key_max_staleness_ms must be at least auth.key_refresh_ms "
            f"({cfg.auth.key_max_staleness_ms} < {cfg.auth.key_refresh_ms})",
        )


def _check_pii(cfg: GatewayConfig) -> Iterator[Finding]:
    mode = cfg.effective_pii_mode
    if mode not in PII_MODES:
        yield "/pii/mode", f'pii.mode must be one of {_MODES_TEXT} (got "{cfg.pii.mode}")'
    for i, scope in enumerate(cfg.pii.scopes):
        yield from _check_scope(i, scope)


def _check_scope(i: int, scope: PiiScope) -> Iterator[Finding]:
    base = f"/pii/scopes/{i}"
    m = scope.match
    if not any(s.strip() for s in (m.org_id, m.workspace_id, m.key_id, m.provider, m.route_prefix)):
        yield (
            f"{base}/match",
            f"pii.scopes[{i}].match must set at least one selector: org_id, workspace_id, "
            "key_id, provider, or route_prefix",
        )
    provider = m.provider.strip()
    if provider and provider != provider.lower():
        msg = f'pii.scopes[{i}].match.provider must be lowercase when set (got "{m.provider}")'
        yield f"{base}/match/provider", msg
    prefix = m.route_prefix.strip()
    if prefix and not prefix.startswith("/"):
        msg = f"pii.scopes[{i}].match.route_prefix must start with '/' (got \"{m.route_prefix}\")"
        yield f"{base}/match/route_prefix", msg
    mode = scope.mode.strip().lower()
    if mode and mode not in PII_MODES:
        msg = f'pii.scopes[{i}].mode must be one of {_MODES_TEXT} (got "{scope.mode}")'
        yield f"{base}/mode", msg


def _check_otel(otel: OtelConfig) -> Iterator[Finding]:
    if not otel.enabled:
        return
    base, name = "/observability/otel", "observability.otel"
    if not otel.endpoint.strip() and not otel.prometheus_enabled:
        yield f"{base}/endpoint", f"{name}.endpoint is required when {name}.enabled=true"
    if not otel.service_name.strip():
        yield f"{base}/service_name", f"{name}.service_name is required when {name}.enabled=true"
    if not (otel.traces_enabled or otel.metrics_enabled or otel.prometheus_enabled):
        yield (
            base,
            f"{name} requires traces_enabled, metrics_enabled, and/or prometheus_enabled "
            "when enabled",
        )
    if not 0 <= otel.sampling_ratio <= 1:
        msg = f"{name}.sampling_ratio must be between 0 and 1 (got {otel.sampling_ratio:f})"
        yield f"{base}/sampling_ratio", msg
    if otel.export_timeout_ms <= 0:
        yield f"{base}/export_timeout_ms", f"{name}.export_timeout_ms must be > 0"
    if otel.metric_export_interval_ms <= 0:
        msg = f"{name}.metric_export_interval_ms must be > 0"
        yield f"{base}/metric_export_interval_ms", msg
    if otel.prometheus_enabled:
        yield from _check_prometheus_path(otel.prometheus_path)


def _check_prometheus_path(path: str) -> Iterator[Finding]:
    pointer, name = "/observability/otel/prometheus_path", "observability.otel.prometheus_path"
    if not path.startswith("/"):
        yield pointer, f"{name} must start with '/' (got \"{path}\")"
        return
    for reserved in ("/api", "/openai", "/anthropic"):
        if path.startswith(reserved):
            yield pointer, f'{name} must not overlap with {reserved} (got "{path}")'
            return
