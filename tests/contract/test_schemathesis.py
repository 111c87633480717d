"""Property-based contract test: schemathesis drives the live app from openapi/openapi.yaml.

Every operation gets a bounded number of generated requests (valid and invalid); the run fails
on any 5xx, undocumented status, wrong content type or a body that violates the documented
schema. Storage holds a few traces (one with lineage) so detail and replay paths have data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.api_server import ApiServer
from tests.integration.storage.records import trace
from tests.integration.traces_db import Backend

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"
schema = schemathesis.openapi.from_path(str(SPEC))


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    backend = Backend("sqlite", path=str(workdir / "traces.db"))
    now = dt.datetime.now(dt.UTC)
    lineage = {"lineage_group_id": "g", "lineage_thread_id": "t", "lineage_run_id": "r"}
    with ApiServer(workdir, backend) as api:
        api.seed(
            [
                trace(id="a", timestamp=now, api_key_hash="f" * 64, input_tokens=10),
                trace(id="b", timestamp=now, trace_group_id="g", metadata=lineage),
                trace(id="c", timestamp=now, response_status=502, latency_ms=900),
            ]
        )
        yield api


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_live_api_honours_its_openapi_contract(case, live_api: ApiServer) -> None:
    # "Schema-valid request accepted" cannot hold for rules OpenAPI cannot state (to >= from,
    # max_tokens >= min_tokens, cursors only this gateway can mint); every other check runs,
    # including that schema-invalid requests are refused with a 4xx.
    case.call_and_validate(base_url=live_api.url, excluded_checks=[positive_data_acceptance])
