"""`ongoingai shell-init` and `ongoingai wrap`: point SDKs and CLI tools at the gateway.

Both compute the same two client base URLs (contract §1.3): `OPENAI_BASE_URL` is the gateway
address plus the `openai` provider's prefix plus `/v1` (the OpenAI SDKs expect the version in
the base URL), `ANTHROPIC_BASE_URL` the address plus the `anthropic` provider's prefix (the
Anthropic SDK adds `/v1` itself). The prefixes come from the provider data files and the
`providers:` overrides, never from constants, so a relocated provider is followed.

The config is loaded but not validated, as in the original: a config that would not serve
still names the address a gateway is expected at, and a shell profile that runs `eval
"$(ongoingai shell-init)"` should not break over an unrelated key. Only a file that cannot be
read or parsed stops the commands.

`wrap` runs a command with both variables set in its environment, passes stdin, stdout and
stderr through, and exits with the command's exit code, so it can stand in for the command
in scripts and CI.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ongoingai.engine.cli_common import CliFailure, run_cli
from ongoingai.engine.config_load import load_config_lenient
from ongoingai.engine.paths import normalize_path_prefix
from ongoingai.engine.policy_view import read_policy_view
from ongoingai.engine.schemas import SchemaSet

if TYPE_CHECKING:
    from types import FrameType

    from ongoingai.engine.config import ServerConfig
    from ongoingai.engine.config_load import LoadedConfig

__all__ = ["add_parser", "client_env", "gateway_base_url", "load_unvalidated"]

_DEFAULT_CONFIG = "ongoingai.yaml"
_WRAP_USAGE = "usage: ongoingai wrap [--config path/to/ongoingai.yaml] -- <command> [args...]"
#: Hosts that mean "every interface": a client cannot connect to them, so use localhost.
_ANY_HOST = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - compared against, never bound


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register `shell-init` and `wrap` on the top-level subparsers."""
    init = sub.add_parser("shell-init", help="print export lines pointing SDKs at the gateway")
    init.add_argument("--config", default=_DEFAULT_CONFIG)
    init.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    init.set_defaults(run=_run_shell_init)
    wrap = sub.add_parser(
        "wrap", help="run a command with OPENAI_BASE_URL and ANTHROPIC_BASE_URL set"
    )
    wrap.add_argument("--config", default=_DEFAULT_CONFIG)
    # REMAINDER keeps the command's own flags (even `--config`) away from our parser.
    wrap.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- command [args...]")
    wrap.set_defaults(run=_run_wrap)


def gateway_base_url(server: ServerConfig) -> str:
    """`http://host:port` a client on this machine uses to reach a gateway bound as configured.

    A wildcard bind address is not connectable, so it becomes `localhost`; a bare IPv6 address
    gets the brackets a URL needs.
    """
    host = server.host.strip()
    if host in _ANY_HOST:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def load_unvalidated(path: Path) -> LoadedConfig:
    """The config with env overrides, invalid parts replaced by defaults; CliFailure(1) if none.

    Only a file that cannot be read or parsed (or whose values cannot form a config at all)
    fails; rule violations are ignored, as the original's shell-init and wrap ignore them.
    """
    loaded, problems = load_config_lenient(path, SchemaSet(), os.environ)
    if loaded is None:
        detail = "; ".join(p.render() for p in problems)
        raise CliFailure(f"failed to load config: {detail}")
    return loaded


def client_env(loaded: LoadedConfig) -> dict[str, str]:
    """`OPENAI_BASE_URL` and `ANTHROPIC_BASE_URL` for this config, in that order."""
    view = read_policy_view(loaded, SchemaSet())
    base = gateway_base_url(loaded.config.server)
    urls: dict[str, str] = {}
    for name, var in (("openai", "OPENAI_BASE_URL"), ("anthropic", "ANTHROPIC_BASE_URL")):
        provider = view.provider(name)
        if provider is None:
            raise CliFailure(f'no provider named "{name}" is configured')
        urls[var] = base + _client_path(name, provider.prefix)
    return urls


def _client_path(name: str, prefix: str) -> str:
    """The provider prefix as an SDK base path: OpenAI's SDKs want the `/v1` in it."""
    path = normalize_path_prefix(prefix).rstrip("/")  # the root prefix adds nothing
    if name == "openai" and not path.endswith("/v1"):
        path += "/v1"
    return path


def _run_shell_init(args: argparse.Namespace) -> int:
    def body() -> int:
        if args.extra:
            raise CliFailure("shell-init does not accept positional arguments", 2)
        env = client_env(load_unvalidated(Path(args.config)))
        sys.stdout.write("".join(f"export {var}={url}\n" for var, url in env.items()))
        return 0

    return run_cli(body)


def _run_wrap(args: argparse.Namespace) -> int:
    def body() -> int:
        argv = list(args.argv)
        # argparse keeps the `--` that ends our options; the original also drops one more.
        for _ in range(2):
            if argv[:1] == ["--"]:
                argv = argv[1:]
        if not argv:
            raise CliFailure(_WRAP_USAGE, 2)
        overrides = client_env(load_unvalidated(Path(args.config)))
        env = dict(sorted({**os.environ, **overrides}.items()))
        return _run_child(argv, env)

    return run_cli(body)


def _run_child(argv: list[str], env: dict[str, str]) -> int:
    """Run the command with inherited stdio; its exit code, or 128 + signal if killed.

    Ctrl-C reaches the child directly (same terminal process group); the wrapper must not die
    of it first, or the child's own exit code would be lost. SIGTERM sent to the wrapper alone
    (a supervisor stopping it) is passed on. Handlers, not SIG_IGN, so the child starts with
    default dispositions.
    """
    started: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGINT and started:
            started[0].send_signal(signum)

    # Installed before the child starts, so no signal can slip in between.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            started.append(subprocess.Popen(argv, env=env))  # noqa: S603 - the user's command
        except OSError as exc:
            raise CliFailure(f"failed to start command: {_start_error(argv[0], exc)}") from None
        code = started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def _start_error(program: str, exc: OSError) -> str:
    """The reason a command did not start, worded like the original (Go's os/exec)."""
    if isinstance(exc, FileNotFoundError) and os.sep not in program:
        return f'exec: "{program}": executable file not found in $PATH'
    return f"{program}: {exc.strerror or exc}"
