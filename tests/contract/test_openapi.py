"""openapi/openapi.yaml describes exactly the admin routes the app serves."""

from __future__ import annotations

from pathlib import Path

import yaml
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from ongoingai.engine.app import create_app
from ongoingai.engine.cli import build_inputs
from ongoingai.engine.runtime import Runtime
from ongoingai.engine.snapshot_build import build_snapshot

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"


def _api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    """Every APIRoute, through included routers (FastAPI >= 0.165 keeps them as branches)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found += _api_routes(included.routes)
    return found


def _app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    config = tmp_path / "ongoingai.yaml"
    inputs = build_inputs()
    runtime = Runtime(config, inputs, build_snapshot(config, inputs))
    app = create_app(runtime, watch=False)
    return {
        (route.path, method.lower())
        for route in _api_routes(app.api.routes)
        for method in route.methods
        if method != "HEAD"  # every GET also answers HEAD (SPEC §1.3)
    }


def test_every_served_route_is_documented_and_nothing_else(tmp_path: Path):
    spec = yaml.safe_load(SPEC.read_text())
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == _app_routes(tmp_path)


def test_error_code_enum_matches_the_error_taxonomy():
    import typing

    from ongoingai.engine.errors import ErrorCode

    spec = yaml.safe_load(SPEC.read_text())
    assert set(spec["components"]["schemas"]["Error"]["properties"]["code"]["enum"]) == set(
        typing.get_args(ErrorCode)
    )
