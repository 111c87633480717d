"""The admin API's door: with `auth.enabled`, every `/api` request is decided before routing.

The same decision as the proxy's authenticate/authorize stages (one `rbac` data file for both),
but not part of the declarative pipeline: removing a stage from `pipeline:` must never open the
admin API. The identity is left in the ASGI scope, where the endpoints read the caller's tenant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.auth.access import (
    Denial,
    audit_denial,
    identify,
    permission_denial,
    rule_for,
)
from ongoingai.engine.auth.identity import IDENTITY_SCOPE_KEY
from ongoingai.engine.context import Headers
from ongoingai.engine.correlation import correlation_id
from ongoingai.engine.errors import render_api_error

if TYPE_CHECKING:
    from ongoingai.engine.asgi import Scope, Send
    from ongoingai.engine.auth.directory import KeyDirectory
    from ongoingai.engine.snapshot import PolicySnapshot

__all__ = ["admit_api_request"]


async def admit_api_request(
    scope: Scope,
    send: Send,
    snapshot: PolicySnapshot,
    directory: KeyDirectory | None,
    extra_headers: dict[str, str],
) -> bool:
    """Decide an `/api` request; False when a denial was sent (and audited).

    `extra_headers` (CORS) go on the denial too, so browsers can read why they were refused.
    """
    method, path = scope["method"], scope["path"]
    headers = Headers(scope["headers"])
    rule = rule_for(snapshot, method, path)
    if rule is not None and rule.public:
        return True
    identity = None
    if rule is None:
        found: object = permission_denial(None, None)
    else:
        found = await identify(snapshot, headers, directory)
        if not isinstance(found, Denial):
            identity = found
            found = permission_denial(identity, rule)
    if isinstance(found, Denial):
        audit_denial(
            found,
            correlation_id=correlation_id(headers),
            path=path,
            rule=rule,
            identity=identity,
        )
        await _send_denial(send, found, extra_headers)
        return False
    scope[IDENTITY_SCOPE_KEY] = identity
    return True


async def _send_denial(send: Send, denial: Denial, extra_headers: dict[str, str]) -> None:
    body = render_api_error(denial.message, denial.code)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra_headers.items()
    ]
    await send({"type": "http.response.start", "status": denial.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
