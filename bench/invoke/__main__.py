"""bench/invoke: what the gateway costs and what the pool buys, measured in one run.

    python -m bench.invoke [--requests 400] [--seconds 6]

Builds the probe function (tests/functions/probe) against the local stand-in
images, then, on loopback only:

1. p50/p99 of a tiny invocation straight to the RIE container's published port
   and through the gateway of ``lambdadev up`` (same container, interleaved,
   one keep-alive connection each);
2. wall time of ``lambdadev invoke`` against ``curl`` doing the same POST;
3. requests per second with 50 concurrent clients against pools of 1, 2 and 4
   containers running a 50 ms handler.

Prints one table; every ratio is against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402
import httpx  # noqa: E402

from tests import standins  # noqa: E402
from tests.conftest import INVOKE_PATH, free_port  # noqa: E402

PROBE = ROOT / "tests" / "functions" / "probe" / "main.go"


def env() -> dict[str, str]:
    return {
        **os.environ,
        "NO_COLOR": "1",
        "LAMBDADEV_BUILD_ARGS": f"GO_IMAGE={standins.go_image()} BASE_IMAGE=scratch",
    }


def make_project(parent: Path) -> Path:
    cmd = [sys.executable, "-m", "lambdadev", "new", "benchprobe", "--base", "scratch"]
    subprocess.run(cmd, cwd=parent, env=env(), check=True, capture_output=True)
    project = parent / "benchprobe"
    shutil.copy(PROBE, project / "main.go")
    (project / "main_test.go").unlink(missing_ok=True)
    return project


class Up:
    def __init__(self, project: Path, concurrency: int) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        cmd = [sys.executable, "-m", "lambdadev", "up", "--no-watch", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*cmd, "--concurrency", str(concurrency)],
            cwd=project,
            env=env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                sys.exit(f"lambdadev up failed:\n{self.log.read().decode(errors='replace')}")
            try:
                httpx.post(f"http://127.0.0.1:{self.port}{INVOKE_PATH}", content=b"{}", timeout=30)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        sys.exit("lambdadev up never answered")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


def rie_port(client: docker.DockerClient, project: Path) -> int:
    from lambdadev.settings import resolve

    project_id = resolve(project).project_id
    (container,) = client.containers.list(filters={"label": f"lambdadev.project={project_id}"})
    return int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(gateway_port: int, direct_port: int, count: int) -> dict[str, list[float]]:
    """Interleave the two paths so drift on a shared machine hits both alike."""
    conns = {
        "direct to RIE": http.client.HTTPConnection("127.0.0.1", direct_port),
        "through the gateway": http.client.HTTPConnection("127.0.0.1", gateway_port),
    }
    times: dict[str, list[float]] = {name: [] for name in conns}
    body = b'{"n":1}'
    for i in range(count + 20):
        for name, conn in conns.items():
            started = time.perf_counter()
            conn.request("POST", INVOKE_PATH, body=body)
            resp = conn.getresponse()
            resp.read()
            elapsed = time.perf_counter() - started
            assert resp.status == 200
            if i >= 20:  # warm-up
                times[name].append(elapsed * 1000)
    return times


def wall(cmd: list[str], runs: int = 10) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env())
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def throughput(port: int, seconds: float, clients: int = 50) -> tuple[float, int]:
    url = f"http://127.0.0.1:{port}{INVOKE_PATH}"
    body = b'{"action":"sleep","ms":50}'
    done = 0
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        await asyncio.gather(*(client.post(url, content=body) for _ in range(clients)))  # warm
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop:
                resp = await client.post(url, content=body)
                if resp.status_code == 200 and "x-amz-function-error" not in resp.headers:
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return done / elapsed, errors


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="invocations per path for latency")
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each throughput run")
    args = parser.parse_args()
    client = docker.from_env()
    standins.ensure_standins(client)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-invoke-") as tmp:
        project = make_project(Path(tmp))
        print("building the probe and starting `lambdadev up` …", file=sys.stderr)
        up = Up(project, 1)
        try:
            direct = rie_port(client, project)
            times = latency(up.port, direct, args.requests)
            base50, base99 = pct(times["direct to RIE"], 0.5), pct(times["direct to RIE"], 0.99)
            for name, values in times.items():
                p50, p99 = pct(values, 0.5), pct(values, 0.99)
                rows.append(
                    (
                        f"hello invoke, {name} (p50 / p99, n={len(values)})",
                        f"{p50:.2f} / {p99:.2f} ms",
                        f"p50 +{p50 - base50:.2f} ms (x{p50 / base50:.2f}), p99 x{p99 / base99:.2f}",
                    )
                )
            url = f"http://127.0.0.1:{up.port}{INVOKE_PATH}"
            curl = wall(["curl", "-s", "-XPOST", url, "-d", '{"n":1}'])
            args_ = ["invoke", "--port", str(up.port), "-d", '{"n":1}']
            ours = wall([sys.executable, "-m", "lambdadev", *args_])
            rows.append(("curl -XPOST (wall, median of 10)", f"{curl * 1000:.0f} ms", "baseline"))
            rows.append(
                (
                    "python -m lambdadev invoke (wall, median of 10)",
                    f"{ours * 1000:.0f} ms",
                    f"x{ours / curl:.1f}",
                )
            )
            script = shutil.which("lambdadev")
            if script:
                entry = wall([script, *args_])
                rows.append(
                    ("lambdadev invoke (entry point)", f"{entry * 1000:.0f} ms", f"x{entry / curl:.1f}")
                )
        finally:
            up.stop()
        base_rps = 0.0
        for size in (1, 2, 4):
            up = Up(project, size)
            try:
                rps, errors = asyncio.run(throughput(up.port, args.seconds))
            finally:
                up.stop()
            base_rps = base_rps or rps
            rows.append(
                (
                    f"50 clients, 50 ms handler, pool {size} (errors: {errors})",
                    f"{rps:.1f} req/s",
                    "baseline" if size == 1 else f"x{rps / base_rps:.2f} vs pool 1",
                )
            )
    width = max(len(r[0]) for r in rows)
    mid = max(len(r[1]) for r in rows)
    print(f"| {'measure':<{width}} | {'value':<{mid}} | ratio |")
    print(f"| {'-' * width} | {'-' * mid} | ----- |")
    for name, value, ratio in rows:
        print(f"| {name:<{width}} | {value:<{mid}} | {ratio} |")


if __name__ == "__main__":
    main()
