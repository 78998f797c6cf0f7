"""The only module that talks to Docker: it maps Docker's errors to ours.

Everything above it speaks in lambdadev terms (build this target, run a dev
container with these labels); a test can replace it with a fake that has the
same methods.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
import requests.exceptions

from lambdadev.errors import BuildFailed, EnvironmentProblem

LABEL_PROJECT = "lambdadev.project"
LABEL_SESSION = "lambdadev.session"
LABEL_ROLE = "lambdadev.role"
# what the engine adds to every container (and so to an export), not part of the image
CONTAINER_FILES = frozenset({"/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})
STEP_RE = re.compile(r"^Step (\d+/\d+) : (.*)$")
NONZERO_RE = re.compile(r"returned a non-zero code: (\d+)")


@dataclass(frozen=True)
class Image:
    id: str
    tag: str
    size: int


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def unreachable(reason: object) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"cannot reach Docker at {docker_host()}: {_short(reason)}",
        hint="start the daemon (`sudo systemctl start docker`, or `sudo dockerd &`) "
        "or point DOCKER_HOST at a running engine",
    )


def _short(reason: object) -> str:
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    match = re.search(r"(Connection refused|No such file or directory|Permission denied|timed out)", text)
    return match.group(1) if match else text[:200]


class Engine:
    """A lazily connected Docker client with lambdadev's vocabulary."""

    def __init__(self, client: docker.DockerClient | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                try:
                    client = docker.from_env(timeout=120)
                    client.ping()
                except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
                    raise unreachable(exc) from None
                self._client = client
            return self._client

    # ---- images ----

    def build(
        self,
        root: Path,
        *,
        target: str | None,
        tag: str,
        buildargs: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        platform: str | None = None,
        on_line: Callable[[str], None] | None = None,
        cancelled: threading.Event | None = None,
        dockerfile: str | None = None,
    ) -> Image:
        """``docker build`` (classic builder) streaming each output line to ``on_line``."""
        log: list[str] = []
        image_id = ""
        try:
            stream: Iterator[dict[str, Any]] = self.client.api.build(
                path=str(root),
                tag=tag,
                target=target,
                buildargs=dict(buildargs),
                labels=dict(labels or {}),
                platform=platform,
                dockerfile=dockerfile,
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                if cancelled is not None and cancelled.is_set():
                    raise BuildFailed("build cancelled")
                if "error" in chunk:
                    detail = str(chunk.get("error", "")).strip()
                    log.append(detail)
                    raise _build_error(detail, log, target)
                if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                    image_id = str(chunk["aux"]["ID"])
                text = chunk.get("stream")
                if text:
                    for line in str(text).splitlines():
                        if line.strip():
                            log.append(line)
                            if on_line is not None:
                                on_line(line)
        except docker.errors.APIError as exc:
            raise _build_error(str(exc.explanation or exc), log, target) from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise unreachable(exc) from None
        image = self.client.images.get(image_id or tag)
        return Image(id=str(image.id), tag=tag, size=int(image.attrs.get("Size", 0)))

    def image(self, ref: str) -> Image | None:
        try:
            image = self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return None
        return Image(id=str(image.id), tag=ref, size=int(image.attrs.get("Size", 0)))

    def image_attrs(self, ref: str) -> dict[str, Any]:
        return dict(self.client.images.get(ref).attrs)

    def pull(self, ref: str, platform: str) -> None:
        """``docker pull --platform``; an unreachable registry is an environment problem."""
        repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        try:
            self.client.images.pull(repository, tag=tag or "latest", platform=platform)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise EnvironmentProblem(
                f"cannot pull {ref} for {platform}: {_short(getattr(exc, 'explanation', None) or exc)}",
                hint=f"pull it by hand (`docker pull --platform {platform} {ref}`) or point BASE_IMAGE "
                f"at a local {platform} image with --build-arg BASE_IMAGE=…",
            ) from None

    def tag(self, image_id: str, ref: str) -> None:
        repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        self.client.images.get(image_id).tag(repository, tag or "latest")

    def file_size(self, ref: str, path: str) -> int | None:
        """The size of one file in an image (None when it is not there), without running it."""
        container = self.client.containers.create(ref, entrypoint=["/nonexistent"], network_disabled=True)
        try:
            stream, stat = container.get_archive(path)
            for _ in stream:  # drain it: an unread archive keeps the container locked
                pass
            return int(stat["size"]) if stat else None
        except docker.errors.NotFound:
            return None
        finally:
            container.remove(force=True)

    def image_files(self, ref: str) -> dict[str, int]:
        """Every path in the image's filesystem → its size (0 for folders and links)."""
        import io
        import tarfile

        container = self.client.containers.create(ref, entrypoint=["/nonexistent"], network_disabled=True)
        try:
            stream = io.BytesIO(b"".join(cast(Iterator[bytes], container.export())))
            files: dict[str, int] = {}
            with tarfile.open(fileobj=stream, mode="r") as tar:
                for member in tar:
                    path = "/" + member.name.removeprefix("./").lstrip("/")
                    if path not in CONTAINER_FILES:
                        files[path] = member.size if member.isfile() else 0
            return files
        finally:
            container.remove(force=True)

    # ---- containers ----

    def run(
        self,
        image: str,
        *,
        name: str,
        labels: Mapping[str, str],
        ports: Mapping[int, tuple[str, int]] | None = None,
        environment: Mapping[str, str] | None = None,
        mounts: Mapping[str, str] | None = None,
        entrypoint: list[str] | None = None,
        mem_limit: str | None = None,
    ) -> str:
        """Start a detached container; ``mounts`` maps host folder → container folder (read-only)."""
        volumes = {host: {"bind": inside, "mode": "ro"} for host, inside in (mounts or {}).items()}
        try:
            container = self.client.containers.run(
                image,
                name=name,
                detach=True,
                labels=dict(labels),
                ports={f"{p}/tcp": hp for p, hp in (ports or {}).items()},
                environment=dict(environment or {}),
                volumes=volumes,
                entrypoint=entrypoint,
                mem_limit=mem_limit,
                init=False,
            )
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "port is already allocated" in text or "address already in use" in text:
                raise EnvironmentProblem(
                    f"a port for {name} is already in use", hint="choose another port with --port"
                ) from None
            raise EnvironmentProblem(f"cannot start container {name}: {text}") from None
        return str(container.id)

    def host_port(self, container_id: str, port: int) -> int:
        container = self.client.containers.get(container_id)
        bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
        if not bindings:
            raise EnvironmentProblem(f"container {container.name} publishes no port for {port}")
        return int(bindings[0]["HostPort"])

    def restart(self, container_id: str, timeout: int = 1) -> None:
        self.client.containers.get(container_id).restart(timeout=timeout)

    def status(self, container_id: str) -> str:
        try:
            return str(self.client.containers.get(container_id).status)
        except docker.errors.NotFound:
            return "gone"

    def logs(self, container_id: str, since: float | None = None) -> Iterator[bytes]:
        """Follow a container's output (stdout and stderr) until it stops."""
        container = self.client.containers.get(container_id)
        kwargs: dict[str, Any] = {"stream": True, "follow": True}
        if since is not None:
            kwargs["since"] = since
        yield from container.logs(**kwargs)

    def remove(self, container_id: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(container_id).remove(force=True)

    def remove_labelled(self, *selectors: str) -> list[str]:
        """Remove every container (running or not) matching all label selectors (``key`` or ``key=value``)."""
        filters: dict[str, str | list[str] | bool] = {"label": list(selectors)}
        removed = []
        for container in self.client.containers.list(all=True, filters=filters):
            try:
                container.remove(force=True)
                removed.append(str(container.name))
            except docker.errors.NotFound:
                pass
        return removed

    # ---- the long-lived builder container of `up` (hot reload) ----

    def ensure_volume(self, name: str, labels: Mapping[str, str]) -> None:
        """Create the named volume unless it exists (volumes outlive every container)."""
        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels=dict(labels))

    def run_idle(
        self,
        image: str,
        *,
        name: str,
        labels: Mapping[str, str],
        binds: Mapping[str, tuple[str, str]],
        environment: Mapping[str, str] | None = None,
    ) -> str:
        """Start a container that idles (for ``exec``); ``binds`` maps a host folder or a named
        volume → (container folder, "ro"|"rw")."""
        volumes = {src: {"bind": inside, "mode": mode} for src, (inside, mode) in binds.items()}
        try:
            container = self.client.containers.run(
                image,
                ["sh", "-c", "while :; do sleep 3600; done"],
                entrypoint=[],
                name=name,
                detach=True,
                labels=dict(labels),
                volumes=volumes,
                environment=dict(environment or {}),
                init=False,
            )
        except docker.errors.ImageNotFound:
            raise EnvironmentProblem(
                f"the Go image {image} is not available for the builder container",
                hint='pull it, set GO_IMAGE in [build.args] to one you have, or use builder = "host"',
            ) from None
        except docker.errors.APIError as exc:
            raise EnvironmentProblem(f"cannot start container {name}: {exc.explanation or exc}") from None
        return str(container.id)

    def exec(
        self,
        container_id: str,
        cmd: list[str],
        *,
        environment: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> tuple[int, str]:
        """``docker exec``: wait for ``cmd`` and return (exit code, stdout+stderr)."""
        api = self.client.api
        try:
            created = api.exec_create(container_id, cmd, environment=dict(environment or {}), workdir=workdir)
            exec_id = str(created["Id"])
            output: Any = api.exec_start(exec_id)
            # the output ends before the engine has always recorded the exit code: wait for it
            for _ in range(500):
                state = api.exec_inspect(exec_id)
                if not state.get("Running") and state.get("ExitCode") is not None:
                    break
                time.sleep(0.01)
        except docker.errors.NotFound:
            raise EnvironmentProblem("the builder container is gone") from None
        except docker.errors.APIError as exc:
            raise EnvironmentProblem(f"docker exec failed: {exc.explanation or exc}") from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise unreachable(exc) from None
        text = output.decode(errors="replace") if isinstance(output, bytes) else str(output)
        code = state.get("ExitCode")
        return int(code if code is not None else -1), text

    # ---- Go inside the Go image (when the host has no Go) ----

    def run_go(self, folder: Path, go_version: str, commands: list[list[str]]) -> None:
        from lambdadev import gotool

        image = os.environ.get("LAMBDADEV_GO_IMAGE") or f"golang:{go_version}"
        script = " && ".join(" ".join(cmd) for cmd in commands)
        try:
            self.client.containers.run(
                image,
                ["sh", "-c", script],
                working_dir="/src",
                volumes={str(folder): {"bind": "/src", "mode": "rw"}},
                environment={**gotool.proxy_settings(), "GOFLAGS": "-mod=mod"},
                remove=True,
                user=f"{os.getuid()}:{os.getgid()}",
            )
        except docker.errors.ContainerError as exc:
            output = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
            raise BuildFailed(
                f"`{script}` failed in {image}", hint="check access to the Go module proxy", log=output
            ) from None
        except docker.errors.ImageNotFound:
            raise BuildFailed(
                f"no Go on this machine and the image {image} is not available",
                hint="install Go, or set LAMBDADEV_GO_IMAGE to a Go image you have",
            ) from None


def _build_error(detail: str, log: list[str], target: str | None) -> BuildFailed:
    match = next((m for line in reversed(log) if (m := STEP_RE.match(line))), None)
    where = f" at step {match.group(1)}" if match else ""
    code = NONZERO_RE.search(detail)
    if match and code:
        # "The command '/bin/sh -c …' returned a non-zero code: 1" → the step's own words, shortened
        instruction = " ".join(match.group(2).split())
        instruction = instruction if len(instruction) <= 70 else instruction[:69] + "…"
        detail = f"`{instruction}` exited with code {code.group(1)}"
    hint = "read the build output above; fix the Dockerfile or the Go code and run it again"
    lowered = detail.lower()
    if any(
        s in lowered for s in ("pull access denied", "manifest unknown", "not found", "dial tcp", "lookup")
    ):
        hint = (
            "an image the Dockerfile names is not available here: pull it, or point the build at a local "
            "copy, e.g. --build-arg GO_IMAGE=… or --build-arg BASE_IMAGE=…"
        )
    what = f"docker build --target {target}" if target else "docker build"
    return BuildFailed(f"{what} failed{where}: {detail}", hint, "\n".join(log))
