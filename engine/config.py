"""`ongoingai.yaml` as frozen typed settings, with the original gateway's defaults.

The JSON Schema (`schemas/config.schema.json`) rejects unknown keys and wrong types with
located messages; these models then give the validated data types and defaults, so no code
ever reads a raw config dict.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AuthConfig",
    "GatewayConfig",
    "GatewayKeyConfig",
    "LimitRule",
    "LimitsConfig",
    "ObservabilityConfig",
    "OtelConfig",
    "PiiConfig",
    "PiiScope",
    "ProviderOverride",
    "ServerConfig",
    "StorageConfig",
    "TracingConfig",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Frozen):
    """Bind address and worker processes; changing them needs a restart."""

    host: str = "0.0.0.0"  # noqa: S104 - binding all interfaces is the documented default
    port: int = 8080
    # Several processes share the listening socket (uvicorn's supervisor); the schema keeps it >= 1.
    workers: int = 1


class StorageConfig(_Frozen):
    """Trace and key storage; changing it needs a restart."""

    driver: str = "sqlite"
    path: str = "./data/ongoingai.db"
    dsn: str = ""
    retention_days: int = 0


class ProviderOverride(_Frozen):
    """Fields of a provider that `ongoingai.yaml` may set over its data file."""

    upstream: str | None = None
    prefix: str | None = None
    dialect: str | None = None
    credential_headers: tuple[str, ...] | None = None
    pricing: str | None = None
    inject_stream_usage: bool | None = None


class TracingConfig(_Frozen):
    """What is recorded and how the asynchronous trace writer is sized."""

    capture_bodies: bool = False
    body_max_size: int = 1048576
    queue_capacity: int = 1024
    batch_size: int = 512
    flush_interval_ms: int = 200

    @property
    def effective_body_max_size(self) -> int:
        """The capture cap in force: ≤0 means 1 MiB, as in the original."""
        return self.body_max_size if self.body_max_size > 0 else 1048576


class OtelConfig(_Frozen):
    """OpenTelemetry export settings (contract §2.1)."""

    enabled: bool = False
    endpoint: str = "localhost:4318"
    insecure: bool = True
    service_name: str = "ongoingai-gateway"
    traces_enabled: bool = True
    metrics_enabled: bool = True
    prometheus_enabled: bool = False
    prometheus_path: str = "/metrics"
    sampling_ratio: float = 1.0
    export_timeout_ms: int = 3000
    metric_export_interval_ms: int = 10000


class ObservabilityConfig(_Frozen):
    """Container for telemetry settings."""

    otel: OtelConfig = OtelConfig()


class PiiStages(_Frozen):
    """Which parts of a request/response PII processing looks at."""

    request_headers: bool = True
    request_body: bool = True
    response_headers: bool = True
    response_body: bool = True


class PiiDetectors(_Frozen):
    """Built-in detectors switched on or off (the contract's four, then ours)."""

    email: bool = True
    phone: bool = True
    ssn: bool = True
    token_like: bool = True
    credit_card: bool = True
    ipv4: bool = True
    provider_key: bool = True


class PiiHeaders(_Frozen):
    """Extra header names to redact (the built-in list always applies)."""

    denylist: tuple[str, ...] = (
        "authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-ongoingai-gateway-key",
    )


class PiiBody(_Frozen):
    """JSON body keys whose values are always redacted."""

    key_denylist: tuple[str, ...] = (
        "email",
        "phone",
        "password",
        "token",
        "secret",
        "ssn",
        "api_key",
        "authorization",
    )


class PiiReplacement(_Frozen):
    """Placeholder format and the salt of its hash."""

    format: str = "[{type}_REDACTED:{hash}]"
    hash_salt: str = ""


class PiiScopeMatch(_Frozen):
    """Selectors of a PII scope; empty ones match anything."""

    org_id: str = ""
    workspace_id: str = ""
    key_id: str = ""
    provider: str = ""
    route_prefix: str = ""


class PiiScope(_Frozen):
    """A PII override for requests matching `match` (most specific wins)."""

    match: PiiScopeMatch = PiiScopeMatch()
    mode: str = ""
    policy_id: str = ""


class PiiConfig(_Frozen):
    """The contract's `pii:` block."""

    mode: str = ""
    policy_id: str = "default/v1"
    stages: PiiStages = PiiStages()
    detectors: PiiDetectors = PiiDetectors()
    headers: PiiHeaders = PiiHeaders()
    body: PiiBody = PiiBody()
    replacement: PiiReplacement = PiiReplacement()
    scopes: tuple[PiiScope, ...] = ()


class GatewayKeyConfig(_Frozen):
    """A gateway key declared in YAML (plain `token` or its SHA-256 `token_hash`)."""

    id: str
    role: str
    token: str = ""
    token_hash: str = ""
    org_id: str = "default"
    workspace_id: str = ""  # empty: the key's `team`, else `default` (contract §5.1)
    team: str = ""
    name: str = ""
    description: str = ""
    created_by: str = ""
    permissions: tuple[str, ...] = ()


class AuthConfig(_Frozen):
    """Gateway-key authentication settings."""

    enabled: bool = False
    header: str = "X-OngoingAI-Gateway-Key"
    keys: tuple[GatewayKeyConfig, ...] = ()
    #: How often each replica re-reads the stored keys (bounds revocation delay).
    key_refresh_ms: int = 1000
    #: How old the stored keys may get (database down) before requests fail closed.
    key_max_staleness_ms: int = 30000


class LimitRule(_Frozen):
    """One set of quotas; a value ≤ 0 disables that quota."""

    requests_per_minute: int = 0
    max_tokens_per_day: int = 0
    max_cost_usd_per_day: Decimal = Decimal(0)

    @field_validator("max_cost_usd_per_day", mode="before")
    @classmethod
    def _exact_money(cls, value: Any) -> Any:
        # YAML floats arrive as binary floats; go through str() so 0.1 stays 0.1.
        return Decimal(str(value)) if isinstance(value, float) else value


class LimitsConfig(_Frozen):
    """Quotas per gateway key and per workspace."""

    per_key: LimitRule = LimitRule()
    per_workspace: LimitRule = LimitRule()


class GatewayConfig(_Frozen):
    """The whole of `ongoingai.yaml` after defaults and env overrides."""

    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    providers: dict[str, ProviderOverride] = Field(default_factory=dict)
    tracing: TracingConfig = TracingConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    pii: PiiConfig = PiiConfig()
    auth: AuthConfig = AuthConfig()
    limits: LimitsConfig = LimitsConfig()
    pipeline: tuple[str | dict[str, Any], ...] | None = None
    policies: str | None = None

    @property
    def effective_pii_mode(self) -> str:
        """lower(trim(mode)); empty means redact_storage when bodies are captured, else off."""
        mode = self.pii.mode.strip().lower()
        if mode:
            return mode
        return "redact_storage" if self.tracing.capture_bodies else "off"
