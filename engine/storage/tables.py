"""The `traces` and `schema_migrations` tables as SQLAlchemy Core objects, for queries.

The schema itself is created by the SQL migrations in `sql/` (so that a database created by the
original gateway is adopted as is); these definitions mirror them column for column and index
for index, which a test checks against a migrated database on both backends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from .coltypes import JsonObject, UtcDateTime

__all__ = ["INDEX_NAMES", "metadata", "schema_migrations", "traces"]

metadata = MetaData()

_ZERO = text("0")

traces = Table(
    "traces",
    metadata,
    Column("id", Text, primary_key=True),
    Column("trace_group_id", Text),
    Column("org_id", Text, nullable=False, server_default="default"),
    Column("workspace_id", Text, nullable=False, server_default="default"),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("provider", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("request_method", Text, nullable=False),
    Column("request_path", Text, nullable=False),
    Column("request_headers", JsonObject),
    Column("request_body", Text),
    Column("response_status", Integer),
    Column("response_headers", JsonObject),
    Column("response_body", Text),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("total_tokens", Integer),
    Column("latency_ms", BigInteger),
    Column("time_to_first_token_ms", BigInteger),
    Column("time_to_first_token_us", BigInteger),
    Column("api_key_hash", Text),
    # Float dollars are kept only for the original's schema and readers; sums use cost_nanousd.
    Column("estimated_cost_usd", Double),
    Column("metadata", JsonObject),
    Column("created_at", UtcDateTime, nullable=False),
    Column("gateway_key_id", Text),
    Column("cache_read_input_tokens", BigInteger, nullable=False, server_default=_ZERO),
    Column("cache_write_input_tokens", BigInteger, nullable=False, server_default=_ZERO),
    Column("reasoning_tokens", BigInteger, nullable=False, server_default=_ZERO),
    Column("cost_nanousd", BigInteger, nullable=False, server_default=_ZERO),
)

_c = traces.c
_INDEXES = (
    Index("idx_traces_timestamp", _c.timestamp),
    Index("idx_traces_provider", _c.provider),
    Index("idx_traces_model", _c.model),
    Index("idx_traces_api_key_hash", _c.api_key_hash),
    Index(
        "idx_traces_org_workspace_created_at_id",
        _c.org_id,
        _c.workspace_id,
        _c.created_at.desc(),
        _c.id.desc(),
    ),
    Index("idx_traces_org_workspace_timestamp", _c.org_id, _c.workspace_id, _c.timestamp),
    Index("idx_traces_created_at_id", _c.created_at.desc(), _c.id.desc()),
    Index("idx_traces_provider_created_at_id", _c.provider, _c.created_at.desc(), _c.id.desc()),
    Index("idx_traces_model_created_at_id", _c.model, _c.created_at.desc(), _c.id.desc()),
    Index(
        "idx_traces_api_key_hash_created_at_id",
        _c.api_key_hash,
        _c.created_at.desc(),
        _c.id.desc(),
    ),
    Index(
        "idx_traces_response_status_created_at_id",
        _c.response_status,
        _c.created_at.desc(),
        _c.id.desc(),
    ),
    Index("idx_traces_provider_timestamp", _c.provider, _c.timestamp),
    Index("idx_traces_model_timestamp", _c.model, _c.timestamp),
    Index("idx_traces_api_key_hash_timestamp", _c.api_key_hash, _c.timestamp),
    Index("idx_traces_response_status_timestamp", _c.response_status, _c.timestamp),
    Index("idx_traces_gateway_key_id", _c.gateway_key_id),
    Index(
        "idx_traces_org_workspace_gateway_key_timestamp",
        _c.org_id,
        _c.workspace_id,
        _c.gateway_key_id,
        _c.timestamp,
    ),
)

#: The contract's index names (§4.1), in declaration order.
INDEX_NAMES: tuple[str, ...] = tuple(str(index.name) for index in _INDEXES)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", Text, primary_key=True),
    Column("applied_at", UtcDateTime),
)
