"""The project's benchmark: the gateway next to the floor for this stack, measured in one run.

One run starts the fake OpenAI upstream (`fake_upstream.py`, pinned to CPU 0 together with this
process, which drives the load), the floor proxy and two gateways (each proxy pinned to CPU 1,
only one of them under load at a time), and measures four targets:

1. `direct`: the fake upstream itself (the baseline the proxies' latency is compared with);
2. `floor`: `floor_proxy.py`, a minimal raw-ASGI + aiohttp pass-through (the floor for any
   Python proxy built like the gateway, reference/perf-baseline.md);
3. `gateway`: `ongoingai serve` with its default pipeline, a temporary config directory and
   `ONGOINGAI_OPENAI_UPSTREAM` pointing at the fake; requests go to
   `/openai/v1/chat/completions`;
4. `gateway-auth`: the same with `auth.enabled` and one YAML gateway key (role developer) that
   every request carries in `X-OngoingAI-Gateway-Key`, so `authenticate` and `authorize` do
   their work; when the default pipeline has the `limit` stage, also per-key quotas far above
   what the run uses, so the limit stage's bookkeeping is paid but never refuses;
5. `gateway-otel`: `gateway` with OpenTelemetry on (traces at sampling ratio 1 and OTLP
   metrics every second) exporting over OTLP/HTTP to `otlp_sink.py`, which discards it all.

For each, non-streaming and streaming (44 SSE events, whole body read):

- added latency: p50/p99 at concurrency 1 minus the same for `direct`;
- CPU ms per request: the proxy's utime+stime from /proc/<pid>/stat across a throughput run
  with 64 connections (read again once the proxy is idle, so deferred work counts), divided by
  the requests completed;
- requests/s with the proxy on one core (and 1000 / CPU ms, the rate one saturated core allows);
- peak RSS (VmHWM from /proc/<pid>/status).

Measurements are split into rounds that visit the targets in turn, so a drift in machine speed
hits all of them alike; a throughput run during which other processes used the proxy's CPU is
repeated, and the report warns about whatever still looks unreliable.

Prints a markdown report and writes it with machine information to `bench/results/latest.md`;
`--update-readme` also replaces the results section of `bench/README.md`.

Usage: `.venv/bin/python bench/run.py [--duration S] [--requests N] [--quick] [--update-readme]`
(`make bench` runs exactly that with the defaults; `--quick` is a short smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import importlib.metadata
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import aiohttp
import httptools
import uvloop
import yaml
from load import (
    ChatRequest,
    LatencyResult,
    Probe,
    RawClient,
    Settle,
    ThroughputResult,
    latency,
    throughput,
    wrk_available,
    wrk_throughput,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = BENCH_DIR.parent
RESULTS_MD: Final = BENCH_DIR / "results" / "latest.md"
README_MD: Final = BENCH_DIR / "README.md"
README_START: Final = "<!-- bench:results:start -->"
README_END: Final = "<!-- bench:results:end -->"
CHAT_PATH: Final = "/v1/chat/completions"
GATEWAY_PREFIX: Final = "/openai"
TRACE_DIAGNOSTICS_PATH: Final = "/api/diagnostics/trace-pipeline"
MODES: Final = ("non-stream", "stream")
LABELS: Final = {
    "direct": "fake upstream, no proxy",
    "floor": "raw ASGI + aiohttp pass-through (`bench/floor_proxy.py`)",
    "gateway": "`ongoingai serve`, default pipeline",
}
GATEWAY_TARGETS: Final = ("gateway", "gateway-auth", "gateway-otel")
OTEL_DETAIL: Final = "OpenTelemetry on: every request traced, OTLP metrics every 1 s"
BENCH_KEY_HEADER: Final = "X-OngoingAI-Gateway-Key"
BENCH_KEY_TOKEN: Final = "ogk_bench-0000000000000000000000000000"  # a YAML key, bench only
AUTH_YAML: Final = f"""\
auth:
  enabled: true
  keys:
    - {{id: bench, token: {BENCH_KEY_TOKEN}, role: developer}}
"""
# Quotas no run comes near (about 1,300 requests/s at most): the limit stage counts every
# request against them, and never refuses one.
LIMITS_YAML: Final = """\
limits:
  per_key: {requests_per_minute: 100000000, max_tokens_per_day: 100000000000}
"""
AUTH_DETAIL: Final = {
    False: "one YAML key, role developer",
    True: "one YAML key, role developer; per-key quotas never reached",
}
CPU_BUDGET: Final = 2.0  # the gateway's CPU per request may be at most this many times the floor's
FOREIGN_LIMIT_PCT: Final = 10.0  # other load on the proxy's CPU above this: repeat, then warn
QUIET_PCT: Final = 15.0  # CPU busy below this between runs counts as a quiet machine
UNSATURATED_PCT: Final = 85.0  # a proxy below this CPU use was not the bottleneck
IDLE_WAIT_S: Final = 20.0  # after a throughput run, wait at most this long for the proxy to idle
_CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
_LOG_TAIL_BYTES: Final = 4000


# ---------------------------------------------------------------------------------------------
# processes


def pick_cpus() -> tuple[int | None, int | None]:
    """(CPU for upstream + driver, CPU for the proxy); None where pinning is impossible."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" elsewhere)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def git_commit() -> str:
    """The repository's short HEAD commit ("unknown" outside a git checkout)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    return "unknown"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proc:
    """A child process in its own process group, optionally pinned, logging to a file."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        log_path: Path,
        *,
        cpu: int | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")

        def pin() -> None:
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})

        self.popen = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # own process group: stop() reaches every descendant
            preexec_fn=pin,  # no threads here; the affinity survives exec
        )

    @property
    def pid(self) -> int:
        """Process id."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads) so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def peak_rss_mb(self) -> float:
        """VmHWM (peak resident set size) in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def log_tail(self) -> str:
        """The end of the process's output, for error messages."""
        self._log.flush()
        return self.log_path.read_bytes()[-_LOG_TAIL_BYTES:].decode(errors="replace")

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after a grace period."""
        pgid = self.pid  # start_new_session: the child leads its own group
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=8)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # stragglers in the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._log.close()


async def wait_ready(proc: Proc, request: ChatRequest, timeout_s: float = 60.0) -> None:
    """Wait until `request` is answered with 200, or fail with the process's log."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_tail()}")
        client = RawClient(request)
        try:
            ex = await client.exchange()
            if ex.ok:
                return
            last = f"status {ex.status}"
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            last = repr(exc)
        finally:
            await client.close()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready after {timeout_s:.0f}s ({last}):\n{proc.log_tail()}")


# ---------------------------------------------------------------------------------------------
# measuring


@dataclass(frozen=True, slots=True)
class Options:
    """What to run, for how long, and where."""

    duration: float
    requests: int
    warmup_s: float
    connections: int
    driver: str
    burst: bool
    update_readme: bool
    retries: int
    rounds: int
    quiet_wait_s: float
    upstream_cpu: int | None
    proxy_cpu: int | None
    limits: bool  # the gateway has a limit stage: gateway-auth gets (unreachable) quotas too


def auth_features(opts: Options) -> str:
    """What gateway-auth adds to the gateway: `auth` or `auth + limits`."""
    return "auth + limits" if opts.limits else "auth"


@dataclass(slots=True)
class TargetResult:
    """Everything measured for one target."""

    name: str
    label: str
    latency: dict[str, LatencyResult] = field(default_factory=dict)
    throughput: dict[str, ThroughputResult] = field(default_factory=dict)
    peak_rss_mb: float = float("nan")
    trace_diagnostics: dict[str, Any] | None = None

    def cpu_ms(self, mode: str, who: str = "proxy") -> float:
        """CPU ms per request of `who` (proxy, upstream, cpuN) during the throughput run."""
        res = self.throughput.get(mode)
        if res is None or not res.requests or who not in res.probe_delta:
            return float("nan")
        return res.probe_delta[who] * 1000 / res.requests

    def cpu_pct(self, mode: str, who: str = "proxy") -> float:
        """CPU use of `who` during the throughput run (and its settling), in % of one core."""
        res = self.throughput.get(mode)
        if res is None or who not in res.probe_delta:
            return float("nan")
        return _pct(res.probe_delta, who)

    def deferred_pct(self, mode: str) -> float:
        """Share of the proxy's CPU for the run that it spent after the last answer."""
        res = self.throughput.get(mode)
        if res is None or not res.probe_delta.get("proxy"):
            return float("nan")
        return res.deferred.get("proxy", 0.0) * 100 / res.probe_delta["proxy"]


def _pct(delta: dict[str, float], who: str) -> float:
    """`who`'s CPU seconds in a probe delta as % of the wall time the delta spans."""
    wall = delta.get("wall", 0.0)
    return delta.get(who, math.nan) * 100 / wall if wall > 0 else math.nan


def cpu_busy_seconds() -> dict[str, float]:
    """Per-CPU times from /proc/stat: `cpuN` busy, `cpuN_tasks` (user+nice+system), `_steal`."""
    out: dict[str, float] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(t) for t in ticks[:8])
        out[name] = (user + nice + system + irq + softirq + steal) / _CLK_TCK
        out[f"{name}_tasks"] = (user + nice + system) / _CLK_TCK
        out[f"{name}_steal"] = steal / _CLK_TCK
    return out


def foreign_pct(result: ThroughputResult, proxy_cpu: int | None) -> float:
    """CPU taken on the proxy's CPU by anything but the proxy (other processes, the host).

    Task time on that CPU minus the proxy's own, plus steal. Near 0 on a quiet machine; other
    load there slows the proxy down and inflates its CPU per request.
    """
    delta = result.probe_delta
    if proxy_cpu is None or not delta.get("wall"):
        return math.nan
    tasks = delta.get(f"cpu{proxy_cpu}_tasks", 0.0) - delta.get("proxy", 0.0)
    return max(0.0, tasks + delta.get(f"cpu{proxy_cpu}_steal", 0.0)) * 100 / delta["wall"]


async def wait_quiet(opts: Options) -> None:
    """Pause 0.3 s, or longer (up to `opts.quiet_wait_s`) while other processes keep CPUs busy.

    Between runs our own processes idle, so CPU use seen now belongs to someone else; waiting
    for a quiet moment keeps it out of the next measurement.
    """
    deadline = time.monotonic() + opts.quiet_wait_s
    cpus = [f"cpu{c}" for c in (opts.upstream_cpu, opts.proxy_cpu) if c is not None]
    while True:
        before = cpu_busy_seconds()
        await asyncio.sleep(0.3)
        after = cpu_busy_seconds()
        busiest = max((after[c] - before[c]) / 0.3 * 100 for c in cpus) if cpus else 0.0
        if busiest < QUIET_PCT or time.monotonic() > deadline:
            return


@dataclass(slots=True)
class Target:
    """One thing to measure: a URL, the headers it needs, the process charged for it."""

    name: str
    url: str
    proc: Proc  # the proxy, or for `direct` the fake upstream itself
    label: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # sent on top of the usual ones (gateway key)

    def request(self, stream: bool) -> ChatRequest:
        """The chat completion this target is measured with."""
        return ChatRequest(self.url, stream, self.headers)


async def measure_all(targets: list[Target], upstream: Proc, opts: Options) -> list[TargetResult]:
    """Measure every target, interleaved in rounds so a slow drift hits them all alike.

    Latency first, then throughput, so no burst of closing connections from a throughput run
    lands in the sequential figures.
    """
    results = {t.name: TargetResult(t.name, t.label or LABELS[t.name]) for t in targets}
    for mode in MODES:
        await measure_latency(targets, results, mode, opts)
    for mode in MODES:
        await measure_throughput(targets, results, mode, upstream, opts)
        for target in targets:
            _progress(results[target.name], mode)
    for target in targets:
        results[target.name].peak_rss_mb = target.proc.peak_rss_mb()
    for target in targets:
        if target.name in GATEWAY_TARGETS:
            results[target.name].trace_diagnostics = await trace_diagnostics(target)
    return [results[t.name] for t in targets]


async def trace_diagnostics(target: Target) -> dict[str, Any] | None:
    """A gateway's trace-writer counters (accepted, dropped), if it exposes them."""
    parts = urlsplit(target.url)
    diag_url = f"{parts.scheme}://{parts.netloc}{TRACE_DIAGNOSTICS_PATH}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(diag_url, headers=dict(target.headers)) as resp,
        ):
            if resp.status != 200:
                return None
            doc = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    diag = doc.get("diagnostics") if isinstance(doc, dict) else None
    return diag if isinstance(diag, dict) else None


async def measure_latency(
    targets: list[Target], results: dict[str, TargetResult], mode: str, opts: Options
) -> None:
    """Warm every target, then in each round a slice of the requests for every target in turn."""
    stream = mode == "stream"
    for target in targets:
        await latency(target.request(stream), 0, warmup=max(100, opts.requests // 10))
    for _ in range(opts.rounds):
        for target in targets:
            request = target.request(stream)
            lat = await latency(request, max(1, opts.requests // opts.rounds), warmup=20)
            res = results[target.name]
            res.latency[mode] = res.latency[mode].merge(lat) if mode in res.latency else lat


async def measure_throughput(
    targets: list[Target],
    results: dict[str, TargetResult],
    mode: str,
    upstream: Proc,
    opts: Options,
) -> None:
    """Warm every target, then in each round a slice of the duration for every target in turn."""
    stream = mode == "stream"
    for target in targets:  # grows each proxy's upstream pool to the connection count
        await drive(target.request(stream), opts, opts.warmup_s)
        await wait_idle(target.proc)
    for _ in range(opts.rounds):
        for target in targets:
            request = target.request(stream)
            run = await clean_run(target, request, upstream, opts, opts.duration / opts.rounds)
            res = results[target.name]
            res.throughput[mode] = (
                res.throughput[mode].merge(run) if mode in res.throughput else run
            )


async def clean_run(
    target: Target, request: ChatRequest, upstream: Proc, opts: Options, duration: float
) -> ThroughputResult:
    """One throughput run; repeated (up to `opts.retries`) while other load shows up."""
    proxy = None if target.proc is upstream else target.proc

    def probe() -> dict[str, float]:
        sample = cpu_busy_seconds()
        sample["wall"] = time.perf_counter()
        sample["upstream"] = upstream.cpu_seconds()
        if proxy is not None:
            sample["proxy"] = proxy.cpu_seconds()
        return sample

    async def settle() -> None:
        await wait_idle(target.proc)

    best: ThroughputResult | None = None
    for attempt in range(1 + opts.retries):
        await wait_quiet(opts)
        run = await drive(request, opts, duration, probe, settle)
        other = foreign_pct(run, opts.proxy_cpu)
        if best is None or other < foreign_pct(best, opts.proxy_cpu):
            best = run
        if proxy is None or not other > FOREIGN_LIMIT_PCT or attempt == opts.retries:
            break
        sys.stderr.write(
            f"  {target.name}: other load took {other:.0f}% of CPU {opts.proxy_cpu}; again\n"
        )
    assert best is not None
    return best


async def drive(
    request: ChatRequest,
    opts: Options,
    duration: float,
    probe: Probe | None = None,
    settle: Settle | None = None,
) -> ThroughputResult:
    """One throughput run with the chosen driver."""
    if opts.driver == "wrk":
        return await wrk_throughput(request, opts.connections, duration, probe, settle)
    return await throughput(request, opts.connections, duration, probe, settle=settle)


async def wait_idle(proc: Proc, window_s: float = 0.2) -> None:
    """Wait until `proc` uses (almost) no CPU: the work it deferred past the last answer is done."""
    deadline = time.monotonic() + IDLE_WAIT_S
    last = proc.cpu_seconds()
    while time.monotonic() < deadline:
        await asyncio.sleep(window_s)
        now = proc.cpu_seconds()
        if now - last <= 1.5 / _CLK_TCK:  # at most one clock tick in the window
            return
        last = now


def _progress(result: TargetResult, mode: str) -> None:
    lat = result.latency[mode]
    thr = result.throughput[mode]
    who = "upstream" if result.name == "direct" else "proxy"
    sys.stderr.write(
        f"  {result.name:12} {mode:10} p50 {lat.p50_ms:6.3f} ms  p99 {lat.p99_ms:6.3f} ms  "
        f"{thr.rps:8.0f} req/s  {who} CPU {result.cpu_ms(mode, who):6.3f} ms/req "
        f"({result.cpu_pct(mode, who):3.0f}%)  errors {lat.errors + thr.errors}\n"
    )


def gateway_command(
    conf: Path, up_url: str, port: int, extra_yaml: str = ""
) -> tuple[list[str], dict[str, str]]:
    """`ongoingai serve` with a temporary config dir; the caller's ONGOINGAI_/OTEL_ vars dropped.

    The config is every default (default pipeline) plus `extra_yaml`.
    """
    conf.mkdir()
    config = conf / "ongoingai.yaml"
    config.write_text(
        "# benchmark: every default (default pipeline) unless set below; env sets "
        "host/port/upstream\n" + extra_yaml
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONGOINGAI_", "OTEL_"))}
    env |= {
        "ONGOINGAI_OPENAI_UPSTREAM": up_url,
        "ONGOINGAI_PORT": str(port),
        "ONGOINGAI_HOST": "127.0.0.1",
    }
    return [str(Path(sys.executable).parent / "ongoingai"), "serve", "--config", str(config)], env


def limit_stage() -> tuple[bool, bool]:
    """(`ongoingai.stages.limit` imports, the packaged default pipeline lists `limit`).

    Only when both hold does the gateway run the limit stage; the bench then gives the key
    quotas, so that stage's cost is measured too.
    """
    try:
        importlib.import_module("ongoingai.stages.limit")
    except Exception:  # absent, or mid-edit: either way there is no limit stage to measure
        return False, False
    try:
        doc = yaml.safe_load((files("ongoingai.policies") / "pipeline.yaml").read_text())
        stages = doc["stages"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return True, False
    names = {entry.get("type") if isinstance(entry, dict) else entry for entry in stages}
    return True, "limit" in names


async def run_all(opts: Options, tmp: Path) -> list[TargetResult]:
    """Start the fake upstream, the floor and both gateways; measure; always stop them all."""
    if opts.upstream_cpu is not None:
        os.sched_setaffinity(0, {opts.upstream_cpu})  # this process drives load beside the fake
    else:
        sys.stderr.write("warning: fewer than 2 CPUs available; nothing is pinned\n")
    py = sys.executable
    with contextlib.ExitStack() as stack:

        def start(name: str, cmd: list[str], **kw: Any) -> Proc:
            proc = Proc(name, cmd, tmp / f"{name}.log", **kw)
            stack.callback(proc.stop)
            return proc

        up_port = free_port()
        up_url = f"http://127.0.0.1:{up_port}"
        cmd = [py, str(BENCH_DIR / "fake_upstream.py"), "--port", str(up_port)]
        upstream = start(
            "upstream", cmd + (["--burst"] if opts.burst else []), cpu=opts.upstream_cpu
        )

        port = free_port()
        cmd = [py, str(BENCH_DIR / "floor_proxy.py"), "--port", str(port), "--upstream", up_url]
        floor = start("floor", [*cmd, "--strip-prefix", GATEWAY_PREFIX], cpu=opts.proxy_cpu)
        floor_url = f"http://127.0.0.1:{port}{GATEWAY_PREFIX}{CHAT_PATH}"

        port = free_port()
        cmd, env = gateway_command(tmp / "gateway", up_url, port)
        gateway = start("gateway", cmd, cpu=opts.proxy_cpu, env=env, cwd=tmp / "gateway")
        gateway_url = f"http://127.0.0.1:{port}{GATEWAY_PREFIX}{CHAT_PATH}"

        port = free_port()
        extra = AUTH_YAML + (LIMITS_YAML if opts.limits else "")
        cmd, env = gateway_command(tmp / "gateway-auth", up_url, port, extra)
        auth = start("gateway-auth", cmd, cpu=opts.proxy_cpu, env=env, cwd=tmp / "gateway-auth")
        auth_url = f"http://127.0.0.1:{port}{GATEWAY_PREFIX}{CHAT_PATH}"

        sink_port = free_port()
        cmd = [py, str(BENCH_DIR / "otlp_sink.py"), "--port", str(sink_port)]
        start("otlp-sink", cmd, cpu=opts.upstream_cpu)
        port = free_port()
        cmd, env = gateway_command(tmp / "gateway-otel", up_url, port)
        env |= {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        }
        otel = start("gateway-otel", cmd, cpu=opts.proxy_cpu, env=env, cwd=tmp / "gateway-otel")
        otel_url = f"http://127.0.0.1:{port}{GATEWAY_PREFIX}{CHAT_PATH}"

        targets = [
            Target("direct", up_url + CHAT_PATH, upstream),
            Target("floor", floor_url, floor),
            Target("gateway", gateway_url, gateway),
            Target(
                "gateway-auth",
                auth_url,
                auth,
                label=f"the same with {auth_features(opts)} ({AUTH_DETAIL[opts.limits]})",
                headers=((BENCH_KEY_HEADER, BENCH_KEY_TOKEN),),
            ),
            Target("gateway-otel", otel_url, otel, label=f"`gateway` with {OTEL_DETAIL}"),
        ]
        for target in targets:
            await wait_ready(target.proc, target.request(stream=False))
        sys.stderr.write(
            f"measuring {', '.join(t.name for t in targets)}: {opts.rounds} rounds, "
            f"driver {opts.driver}\n"
        )
        return await measure_all(targets, upstream, opts)
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# reporting


def _f(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _pair(a: float, b: float, digits: int = 2) -> str:
    return f"{_f(a, digits)} / {_f(b, digits)}"


def results_table(results: list[TargetResult]) -> str:
    """The main markdown table: added latency, CPU per request, req/s and peak RSS."""
    direct = next(r for r in results if r.name == "direct")
    head = (
        "| target | added latency ms p50 / p99, non-stream | added latency ms p50 / p99, stream "
        "| CPU ms/req non-stream | CPU ms/req stream | req/s non-stream (1 core: 1000/CPU) "
        "| req/s stream (1 core: 1000/CPU) | peak RSS MB |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        who = "upstream" if r is direct else "proxy"
        cells = [f"**{r.name}**: {r.label}"]
        for mode in MODES:
            lat, base = r.latency[mode], direct.latency[mode]
            if r is direct:
                cells.append(f"0 (itself: {_pair(lat.p50_ms, lat.p99_ms)})")
            else:
                cells.append(_pair(lat.p50_ms - base.p50_ms, lat.p99_ms - base.p99_ms))
        for mode in MODES:
            cells.append(f"{_f(r.cpu_ms(mode, who), 3)}{' (the fake)' if r is direct else ''}")
        for mode in MODES:
            cpu = r.cpu_ms(mode, who)
            cap = 1000 / cpu if cpu > 0 else math.nan
            cells.append(f"{r.throughput[mode].rps:.0f} ({_f(cap, 0)})")
        cells.append(_f(r.peak_rss_mb, 0))
        rows.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def verdict(results: list[TargetResult], opts: Options) -> str:
    """Gateway / floor ratios, the CPU budget check, and what auth (+ limits) adds."""
    by = {r.name: r for r in results}
    floor, gateway, direct = by["floor"], by["gateway"], by["direct"]
    auth = by.get("gateway-auth")
    otel = by.get("gateway-otel")
    lines = []
    for mode in MODES:
        ratio = gateway.cpu_ms(mode) / floor.cpu_ms(mode)
        within = "within" if ratio <= CPU_BUDGET else "**OVER**"
        f_add = floor.latency[mode].p50_ms - direct.latency[mode].p50_ms
        g_add = gateway.latency[mode].p50_ms - direct.latency[mode].p50_ms
        lines.append(
            f"- {mode}: gateway CPU per request = **{ratio:.2f}x** the floor's ({within} the "
            f"{CPU_BUDGET:g}x budget); added p50 latency {g_add:.3f} ms vs the floor's "
            f"{f_add:.3f} ms"
        )
        if auth is not None:
            # the same direct baseline on both sides, so this is the gap between the gateways
            lat = auth.latency[mode].p50_ms - gateway.latency[mode].p50_ms
            cpu = auth.cpu_ms(mode) - gateway.cpu_ms(mode)
            lines.append(
                f"- {mode}: {auth_features(opts)} overhead vs gateway: {lat:+.3f} ms p50 added "
                f"latency, {cpu:+.3f} CPU ms/request ({cpu * 100 / gateway.cpu_ms(mode):+.0f}%; "
                f"gateway-auth CPU = {auth.cpu_ms(mode) / floor.cpu_ms(mode):.2f}x the floor's)"
            )
        if otel is not None:
            lat = otel.latency[mode].p50_ms - gateway.latency[mode].p50_ms
            cpu = otel.cpu_ms(mode) - gateway.cpu_ms(mode)
            lines.append(
                f"- {mode}: OpenTelemetry overhead vs gateway: {lat:+.3f} ms p50 added "
                f"latency, {cpu:+.3f} CPU ms/request ({cpu * 100 / gateway.cpu_ms(mode):+.0f}%)"
            )
    return "\n".join(lines) + "\n"


def details_table(results: list[TargetResult], opts: Options) -> str:
    """Raw numbers behind the main table, for judging the run itself."""
    load_cpu, proxy_cpu = f"cpu{opts.upstream_cpu}", f"cpu{opts.proxy_cpu}"
    head = (
        "| target | mode | p50 ms | p99 ms | first byte p50 ms | throughput run | errors "
        "| proxy CPU % | of which after the last answer % | fake CPU ms/req "
        "| CPU busy % (fake+driver / proxy) | other load on proxy CPU % |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        for mode in MODES:
            lat, thr = r.latency[mode], r.throughput[mode]
            busy = _pair(_pct(thr.probe_delta, load_cpu), _pct(thr.probe_delta, proxy_cpu), 0)
            rows.append(
                f"| {r.name} | {mode} | {lat.p50_ms:.3f} | {lat.p99_ms:.3f} | "
                f"{lat.ttfb_p50_ms:.3f} | {thr.requests} req in {thr.elapsed_s:.1f} s | "
                f"{lat.errors + thr.errors} | {_f(r.cpu_pct(mode), 0)} | "
                f"{_f(r.deferred_pct(mode), 0)} | {_f(r.cpu_ms(mode, 'upstream'), 3)} | "
                f"{busy} | {_f(foreign_pct(thr, opts.proxy_cpu), 0)} |"
            )
    return head + "\n".join(rows) + "\n"


def trace_lines(results: list[TargetResult]) -> str:
    """Each gateway's trace-writer counters after the run, if it reported them."""
    return "".join(trace_line(r) for r in results if r.name in GATEWAY_TARGETS)


def trace_line(gateway: TargetResult) -> str:
    """One gateway's trace-writer counters after the run, if it reported them."""
    diag = gateway.trace_diagnostics
    if not diag:
        return f"- {gateway.name} trace writer: no diagnostics (endpoint absent or failed)\n"
    return (
        f"- {gateway.name} trace writer after the run: {diag.get('enqueue_accepted_total')} traces "
        f"accepted, {diag.get('total_dropped_total')} dropped (enqueue "
        f"{diag.get('enqueue_dropped_total')}, write {diag.get('write_dropped_total')}), queue "
        f"high watermark {diag.get('queue_depth_high_watermark')} of "
        f"{diag.get('queue_capacity')}, store {diag.get('store_driver')}\n"
    )


def warnings(results: list[TargetResult], opts: Options) -> list[str]:
    """Reasons to distrust this run: errors, other load, a proxy that was not saturated."""
    out = []
    for r in results:
        for mode in MODES:
            lat, thr = r.latency[mode], r.throughput[mode]
            if lat.errors or thr.errors:
                out.append(f"{r.name} {mode}: {lat.errors + thr.errors} failed requests")
            other = foreign_pct(thr, opts.proxy_cpu)
            if r.name != "direct" and other > FOREIGN_LIMIT_PCT:
                out.append(
                    f"{r.name} {mode}: other processes took {other:.0f}% of the proxy's CPU "
                    "during the throughput run (CPU per request is inflated; run again on a "
                    "quiet machine)"
                )
            if r.name != "direct" and r.cpu_pct(mode) < UNSATURATED_PCT:
                out.append(
                    f"{r.name} {mode}: the proxy used only {r.cpu_pct(mode):.0f}% of its CPU, so "
                    "the load side limited the run (req/s understates the proxy; CPU per "
                    "request is somewhat pessimistic)"
                )
        dropped = (r.trace_diagnostics or {}).get("total_dropped_total") or 0
        if dropped:
            out.append(
                f"{r.name}: {dropped} traces were dropped, so part of the recording work was "
                "never done (CPU per request understates the full cost)"
            )
    return out


def machine_info(opts: Options, results: list[TargetResult]) -> str:
    """CPU, Python, package versions, date, commit and run options."""
    model = cpu_model()
    config_args = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    build = "PGO-optimised" if "--enable-optimizations" in config_args else "not PGO-optimised"
    versions = ", ".join(
        f"{pkg} {_version(pkg)}" for pkg in ("uvicorn", "uvloop", "httptools", "aiohttp")
    )
    commit = git_commit()
    pinning = (
        f"fake upstream + load driver on CPU {opts.upstream_cpu}, proxy alone on CPU "
        f"{opts.proxy_cpu}"
        if opts.upstream_cpu is not None
        else "nothing pinned (fewer than 2 CPUs)"
    )
    driver = results[0].throughput["non-stream"].driver if results else opts.driver
    stream = "whole stream in one write" if opts.burst else "one write per SSE event"
    return "\n".join(
        [
            f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- CPU: {model}, {os.cpu_count()} logical CPUs; {pinning}",
            f"- kernel: {platform.system()} {platform.release()}",
            f"- Python: {platform.python_implementation()} {platform.python_version()} ({build})",
            f"- packages: {versions}",
            f"- gateway commit: {commit} (plus any uncommitted changes in the work tree)",
            f"- run: latency over {opts.requests} sequential requests per figure; throughput "
            f"{opts.duration:g} s x {opts.connections} connections per mode, driver {driver}; "
            f"the fake upstream sends streams {stream}",
        ]
    )


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def report(opts: Options, results: list[TargetResult]) -> str:
    """The whole markdown report."""
    return (
        results_table(results)
        + "\n"
        + verdict(results, opts)
        + trace_lines(results)
        + "".join(f"- warning: {w}\n" for w in warnings(results, opts))
        + "\n"
        + machine_info(opts, results)
        + "\n\n<details><summary>raw numbers</summary>\n\n"
        + details_table(results, opts)
        + "\n</details>\n"
    )


def update_readme(body: str) -> None:
    """Replace the text between the results markers of bench/README.md (append if absent)."""
    block = f"{README_START}\n{body.rstrip()}\n{README_END}"
    text = README_MD.read_text() if README_MD.exists() else "# Benchmark\n"
    if README_START in text and README_END in text:
        before = text[: text.index(README_START)]
        after = text[text.index(README_END) + len(README_END) :]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README_MD.write_text(text)


# ---------------------------------------------------------------------------------------------
# entry point


def parse_args(argv: Sequence[str] | None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput run")
    parser.add_argument("--requests", type=int, default=2000, help="requests per latency figure")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="short smoke run (30-60 s)")
    parser.add_argument(
        "--driver",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="throughput load driver: wrk if installed (auto), or the Python one",
    )
    parser.add_argument("--burst", action="store_true", help="upstream sends streams in one write")
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="repeat a throughput run this often while other load shows on the proxy's CPU",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split each measurement into this many slices, interleaved across targets",
    )
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if wrk_available() else "python"
    elif driver == "wrk" and not wrk_available():
        parser.error("--driver wrk: wrk is not installed")
    upstream_cpu, proxy_cpu = pick_cpus()
    limit_module, limits = limit_stage()
    if limit_module and not limits:
        sys.stderr.write(
            "note: ongoingai.stages.limit exists but the default pipeline does not run it; "
            "gateway-auth measures auth only\n"
        )
    if args.quick:
        args.duration, args.requests = min(args.duration, 2.0), min(args.requests, 300)
    return Options(
        duration=args.duration,
        requests=args.requests,
        warmup_s=0.5 if args.quick else 1.0,
        connections=args.connections,
        driver=driver,
        burst=args.burst,
        update_readme=args.update_readme,
        retries=0 if args.quick else args.retries,
        rounds=1 if args.quick else max(1, args.rounds),
        quiet_wait_s=1.0 if args.quick else 4.0,
        upstream_cpu=upstream_cpu,
        proxy_cpu=proxy_cpu,
        limits=limits,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 on success."""
    opts = parse_args(argv)
    # a SIGTERM unwinds like Ctrl-C, so every child process is stopped on the way out
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        with tempfile.TemporaryDirectory(prefix="ongoingai-bench-") as tmp:
            results = uvloop.run(run_all(opts, Path(tmp)))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; every process started was stopped\n")
        return 130
    body = report(opts, results)
    print(body)
    RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_MD.write_text("# Benchmark results (latest run)\n\n" + body)
    sys.stderr.write(f"wrote {RESULTS_MD.relative_to(REPO_DIR)}\n")
    if opts.update_readme:
        update_readme(body)
    return 0


def _raise_exit(_sig: int, _frame: object) -> None:
    raise SystemExit(143)


if __name__ == "__main__":
    sys.exit(main())
