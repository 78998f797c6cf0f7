"""Hot reload benchmark (issue #4): ``python -m bench.reload [--edits 20] [--seed-runs 3]``.

Scaffolds ``hello`` in a temporary folder (against the local stand-in images),
starts ``lambdadev up`` and, in the same run, measures:

* lambdadev: save of a one-line edit → first response carrying the new text
  (requests sent in a tight loop), N edits, p50/p95;
* floor: an incremental ``go build`` of the same change (host Go, the
  Dockerfile's flags, warm cache) plus a ``docker restart`` of an RIE container
  of the dev image until it answers;
* seed loop: the seed article's loop, ``docker build --target dev`` + replace
  the container + first response;
* builders: an incremental build by the host's Go and by ``docker exec`` in the
  builder container (the Go image with the cache volumes): how ``auto`` chooses.

Prints a table with the ratios lambdadev / floor and seed loop / lambdadev.
Nothing is hard-coded: every figure comes from this run, on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lambdadev.builder import ContainerBuilder, HostBuilder, go_flags  # noqa: E402
from lambdadev.engine import LABEL_PROJECT, Engine  # noqa: E402
from lambdadev.settings import resolve  # noqa: E402
from tests import standins  # noqa: E402
from tests.conftest import INVOKE_PATH, free_port, lambdadev_env  # noqa: E402


def set_body(project: Path, text: str) -> None:
    main = project / "main.go"
    main.write_text(re.sub(r'Body: "[^"]*"', f'Body: "{text}"', main.read_text(), count=1))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_text(client: httpx.Client, url: str, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resp = client.post(url, content=b"{}")
            if resp.status_code == 200 and text in resp.text:
                return
        except httpx.TransportError:
            time.sleep(0.005)
    raise SystemExit(f"no response with {text!r} within {timeout} s")


def wait_http(client: httpx.Client, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.get(f"http://127.0.0.1:{port}/lambdadev-ready")
            return
        except httpx.TransportError:
            time.sleep(0.005)
    raise SystemExit("RIE never answered")


def measure_lambdadev(project: Path, env: dict[str, str], edits: int) -> tuple[list[float], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}{INVOKE_PATH}"
    log = project.parent / "up.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lambdadev", "up", "--port", str(port)],
            cwd=project,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        try:
            with httpx.Client(timeout=60) as client:
                wait_text(client, url, "Hello", timeout=900)
                set_body(project, "warm-up")  # the first reload warms the builder's cache
                wait_text(client, url, "warm-up")
                times = []
                for i in range(edits):
                    time.sleep(0.3)
                    text = f"edit {i}"
                    started = time.monotonic()
                    set_body(project, text)
                    wait_text(client, url, text)
                    times.append(time.monotonic() - started)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    lines = [line for line in log.read_text().splitlines() if line.startswith("  watching")]
    return times, (lines[0].strip() if lines else "")


def measure_floor(project: Path, engine: Engine, runs: int) -> tuple[list[float], list[float]]:
    """Incremental host go build (warm) + docker restart of an RIE container of the dev image."""
    settings = resolve(project)
    flags = go_flags(project, dict(settings.build_args))
    env = {**os.environ, **flags.environment()}
    out = project / ".lambdadev" / "floor-bootstrap"
    labels = {LABEL_PROJECT: settings.project_id}
    ports = {8080: ("127.0.0.1", 0)}
    name = f"bench-floor-{os.getpid()}"
    container = engine.run(settings.image_tag("dev"), name=name, labels=labels, ports=ports)
    builds, restarts = [], []
    try:
        with httpx.Client(timeout=10) as client:
            for i in range(runs + 1):
                set_body(project, f"floor {i}")
                started = time.monotonic()
                subprocess.run(flags.command(str(out)), cwd=project, env=env, check=True, capture_output=True)
                built = time.monotonic() - started
                started = time.monotonic()
                engine.restart(container, 0)
                wait_http(client, engine.host_port(container, 8080))
                restarted = time.monotonic() - started
                if i:  # the first run warms the cache for this exact source
                    builds.append(built)
                    restarts.append(restarted)
    finally:
        engine.remove(container)
        out.unlink(missing_ok=True)
    return builds, restarts


def measure_seed_loop(project: Path, engine: Engine, runs: int) -> list[float]:
    """docker build --target dev + replace the container + first response (the seed's loop)."""
    settings = resolve(project)
    args = {**settings.build_args}
    labels = {LABEL_PROJECT: settings.project_id}
    times = []
    container = None
    with httpx.Client(timeout=60) as client:
        try:
            for i in range(runs):
                text = f"seed {i}"
                set_body(project, text)
                started = time.monotonic()
                image = engine.build(project, target="dev", tag="lambdadev-bench/seed:dev", buildargs=args)
                if container:
                    engine.remove(container)
                container = engine.run(
                    image.id, name=f"bench-seed-{os.getpid()}", labels=labels, ports={8080: ("127.0.0.1", 0)}
                )
                port = engine.host_port(container, 8080)
                wait_text(client, f"http://127.0.0.1:{port}{INVOKE_PATH}", text)
                times.append(time.monotonic() - started)
        finally:
            if container:
                engine.remove(container)
    return times


def measure_builders(project: Path, engine: Engine, runs: int) -> dict[str, list[float]]:
    settings = resolve(project)
    args = dict(settings.build_args)
    flags = go_flags(project, args)
    host = HostBuilder(project, flags)
    container = ContainerBuilder(
        engine,
        project,
        flags,
        image=args.get("GO_IMAGE") or standins.go_image(),
        container_name=f"bench-builder-{os.getpid()}",
        project_id=settings.project_id,
        session_id="bench",
        environment={k: v for k, v in args.items() if k.startswith("GO")},
    )
    results: dict[str, list[float]] = {"host": [], "container": []}

    async def run() -> None:
        for name, builder in (("host", host), ("container", container)):
            await builder.start()
            for i in range(runs + 1):
                set_body(project, f"{name} {i}")
                result = await builder.build()
                if not result.ok:
                    raise SystemExit(result.output)
                if i:
                    results[name].append(result.seconds)

    try:
        asyncio.run(run())
    finally:
        container.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reload", description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--floor-runs", type=int, default=10)
    parser.add_argument("--seed-runs", type=int, default=3)
    parser.add_argument("--builder-runs", type=int, default=5)
    opts = parser.parse_args()

    engine = Engine()
    standins.ensure_standins(engine.client)
    env = lambdadev_env()
    with tempfile.TemporaryDirectory(prefix="lambdadev-bench-") as tmp:
        new = [sys.executable, "-m", "lambdadev", "new", "hello"]
        subprocess.run(new, cwd=tmp, env=env, check=True, capture_output=True)
        project = Path(tmp) / "hello"
        os.environ["LAMBDADEV_BUILD_ARGS"] = env["LAMBDADEV_BUILD_ARGS"]
        print(f"measuring lambdadev: {opts.edits} edits …", file=sys.stderr)
        ours, watching = measure_lambdadev(project, env, opts.edits)
        print(f"measuring the floor: {opts.floor_runs} builds + restarts …", file=sys.stderr)
        builds, restarts = measure_floor(project, engine, opts.floor_runs)
        print(f"measuring the builders: {opts.builder_runs} builds each …", file=sys.stderr)
        builders = measure_builders(project, engine, opts.builder_runs)
        print(f"measuring the seed's loop: {opts.seed_runs} image builds …", file=sys.stderr)
        seed = measure_seed_loop(project, engine, opts.seed_runs)
        engine.remove_labelled(f"{LABEL_PROJECT}={resolve(project).project_id}")

    floor = [b + r for b, r in zip(builds, restarts, strict=True)]
    med = statistics.median
    rows = [
        ("lambdadev up: save → new text", len(ours), med(ours), pct(ours, 0.95)),
        ("floor: go build (warm)", len(builds), med(builds), pct(builds, 0.95)),
        ("floor: docker restart → answers", len(restarts), med(restarts), pct(restarts, 0.95)),
        ("floor: build + restart", len(floor), med(floor), pct(floor, 0.95)),
        ("seed loop: docker build dev + new container", len(seed), med(seed), pct(seed, 0.95)),
        ("builder host: incremental go build", *_stats(builders["host"])),
        ("builder container: docker exec go build", *_stats(builders["container"])),
    ]
    print(f"\nhot reload on {os.cpu_count()} cores ({watching})\n")
    print(f"| {'what':<46} | {'n':>3} | {'p50 s':>7} | {'p95 s':>7} |")
    print(f"| {'-' * 46} | {'-' * 3}:| {'-' * 6}:| {'-' * 6}:|")
    for what, n, p50, p95 in rows:
        print(f"| {what:<46} | {n:>3} | {p50:>7.3f} | {p95:>7.3f} |")
    print()
    print(f"lambdadev / floor (p50):  {med(ours) / med(floor):.2f}x   (target ≤ 1.3x)")
    print(f"seed loop / lambdadev (p50): {med(seed) / med(ours):.1f}x   (target ≥ 10x)")
    host, box = med(builders["host"]), med(builders["container"])
    faster = "host" if host <= box else "container"
    print(f"builder container / host (p50): {box / host:.2f}x   (faster here: {faster})")


def _stats(values: list[float]) -> tuple[int, float, float]:
    return len(values), statistics.median(values), pct(values, 0.95)


if __name__ == "__main__":
    main()
