"""The typer app: each command a short adapter; the one place errors are rendered.

Data (payloads, image tags) goes to stdout; progress, logs and errors go to
stderr. Exit codes: 0 success, 1 the function returned an error, 2 bad usage
or bad input, 3 environment problem (no Docker, port busy, build failed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lambdadev import __version__
from lambdadev.console import out
from lambdadev.errors import BuildFailed, LambdadevError

app = typer.Typer(
    name="lambdadev",
    help="Develop Go AWS Lambda functions locally, as container images: "
    "scaffold, build, run with the Runtime Interface Emulator, reload on save, invoke.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
events_app = typer.Typer(
    help="The catalog of sample events (for `invoke --example NAME`).", no_args_is_help=True
)
app.add_typer(events_app, name="events")

BuildArgs = Annotated[
    list[str] | None,
    typer.Option(
        "--build-arg", help="Docker build arg K=V (repeatable); wins over [build.args].", metavar="K=V"
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lambdadev {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Develop Go AWS Lambda functions locally, as container images."""


def _settings(flags: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    from lambdadev import settings

    return settings.resolve(Path.cwd(), flags, **kwargs)


@app.command()
def new(
    name: Annotated[
        str, typer.Argument(help="The function's name; also its folder, made in the current folder.")
    ],
    template: Annotated[str, typer.Option(help="hello | http | sqs | s3 | schedule")] = "hello",
    base: Annotated[
        str, typer.Option(help="Production base image: al2023 | distroless | scratch")
    ] = "al2023",
    arch: Annotated[str, typer.Option(help="Target architecture: x86_64 | arm64")] = "x86_64",
    module: Annotated[str | None, typer.Option(help="Go module path (default: NAME).")] = None,
    go_version: Annotated[str | None, typer.Option(help="Go release X.Y (default: the host's Go).")] = None,
    force: Annotated[bool, typer.Option(help="Write into an existing, non-empty folder.")] = False,
) -> None:
    """Scaffold a new Go Lambda function in ./NAME.

    Writes main.go, main_test.go, go.mod/go.sum (resolved), a multi-stage
    Dockerfile (build, production, dev with RIE, release), lambdadev.toml and
    sample events. Nothing is written if anything fails.

    Example: lambdadev new hello --base scratch
    """
    from lambdadev import scaffold

    req = scaffold.NewProject(
        name=name, template=template, base=base, arch=arch, module=module, go_version=go_version
    )
    scaffold.validate(req)
    with out.status(f"creating {name} ({template}, {base}, {arch}): resolving the Go module"):
        dest = scaffold.create(Path.cwd(), req, force=force)
    out.ok(f"created {dest}")
    out.info(f"next:  cd {name} && lambdadev up      # then, in another terminal: lambdadev invoke")
    typer.echo(str(dest))


@app.command()
def build(
    target: Annotated[str, typer.Option(help="Dockerfile stage: release | production | dev")] = "release",
    tag: Annotated[str | None, typer.Option(help="Image tag (default: lambdadev/NAME:TARGET).")] = None,
    build_arg: BuildArgs = None,
) -> None:
    """Build an image of the function from its Dockerfile.

    Streams the build on stderr, then prints the image tag and size on stdout.

    Example: lambdadev build --target production --tag hello:prod
    """
    from lambdadev.engine import Engine
    from lambdadev.errors import UsageError
    from lambdadev.up import build_image

    if target not in ("release", "production", "dev"):
        raise UsageError(f"unknown target {target!r}", hint="choose one of: release, production, dev")
    settings = _settings(build_arg_pairs=build_arg or ())
    image = build_image(
        Engine(), settings, target, tag or settings.image_tag("latest" if target == "release" else target)
    )
    out.ok(f"built {image.tag} ({human_size(image.size)})")
    typer.echo(f"{image.tag}\t{image.size}")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    return f"{value:.2f} GB"


@app.command()
def up(
    port: Annotated[int | None, typer.Option(help="Port to serve on (default 9000).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    no_watch: Annotated[bool, typer.Option("--no-watch", help="Do not rebuild on changes.")] = False,
    concurrency: Annotated[int | None, typer.Option(help="Warm RIE containers (default 1).")] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="Function env var K=V (repeatable).", metavar="K=V")
    ] = None,
    env_file: Annotated[Path | None, typer.Option(help="dotenv file of function env vars.")] = None,
    build_arg: BuildArgs = None,
) -> None:
    """Build the dev image and serve the function with RIE until Ctrl-C.

    Hot reload: a save of a .go file, go.mod, go.sum or a `watch` glob of
    lambdadev.toml rebuilds the binary incrementally (no new image) and restarts
    the containers; requests made meanwhile wait for the new code. A change to
    the Dockerfile, lambdadev.toml or the env file rebuilds the dev image. The
    builder is [build] builder = "auto|host|container" (LAMBDADEV_BUILDER).
    Needs a local Docker engine (.lambdadev/build is bind-mounted).

    The seed's request works unchanged:
    curl -XPOST http://localhost:9000/2015-03-31/functions/function/invocations -d '{}'

    Example: lambdadev up --port 9001
    """
    from lambdadev import up as up_module
    from lambdadev.engine import Engine

    flags = {
        "port": port,
        "host": host,
        "concurrency": concurrency,
        "env_file": str(env_file) if env_file else None,
    }
    settings = _settings(flags, env_pairs=env or (), build_arg_pairs=build_arg or ())
    options = up_module.UpOptions(
        watch=not no_watch,
        reload_settings=lambda: _settings(flags, env_pairs=env or (), build_arg_pairs=build_arg or ()),
    )
    raise typer.Exit(up_module.run(settings, Engine(), options))


@app.command()
def invoke(
    event_file: Annotated[
        str | None, typer.Argument(help="JSON event file, or - for stdin (default: {}).", show_default=False)
    ] = None,
    data: Annotated[str | None, typer.Option("--data", "-d", help="The event as a JSON string.")] = None,
    example: Annotated[str | None, typer.Option(help="A sample event from `lambdadev events list`.")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port of `lambdadev up` (default: lambdadev.toml or 9000).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Full invocation URL (instead of --port).")] = None,
    raw: Annotated[bool, typer.Option(help="Print the payload unchanged (no pretty-printing).")] = False,
) -> None:
    """Invoke the running function with a JSON event and print its payload.

    The payload goes to stdout: pretty JSON on a terminal, unchanged with
    --raw or when piped. Status, duration and request id go to stderr.

    Exit codes: 0 success, 1 the function failed (error, panic, exit,
    timeout), 2 bad event (not JSON, over Lambda's 6 MB limit), 3 nothing
    answers.

    Example: lambdadev invoke events/hello.json
    """
    from lambdadev import invoke as inv

    payload = inv.read_event(event_file, data, example)
    if url is None and port is None:
        port = _invoke_port()
    result = inv.send(inv.invocation_url(port or 9000, url), payload)
    out.info(
        f"{'function error' if result.function_error else 'ok'} · HTTP {result.status} · "
        f"{result.duration * 1000:.1f} ms" + (f" · request {result.request_id}" if result.request_id else "")
    )
    rendered = inv.render_payload(result.payload, raw, sys.stdout.isatty())
    sys.stdout.buffer.write(rendered)
    if sys.stdout.isatty() and not rendered.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    raise typer.Exit(inv.exit_code(result))


def _invoke_port() -> int:
    """The port from LAMBDADEV_PORT or lambdadev.toml when inside a function folder, else 9000."""
    from lambdadev.errors import UsageError

    try:
        return int(_settings().port)
    except UsageError:
        return 9000


@app.command()
def size(
    base: Annotated[
        list[str] | None,
        typer.Option(
            "--base", help="Only these bases (repeatable): al2023 | distroless | scratch.", metavar="BASE"
        ),
    ] = None,
    build_arg: BuildArgs = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON (for scripts).")] = False,
) -> None:
    """Build production on each base and a single-stage baseline; print the size table.

    Columns: base, the image it came from, image size, binary size, what is
    inside, ratio to the single-stage image (Go image + COPY + go build).
    Set LAMBDADEV_BASE_IMAGES="al2023=REF distroless=REF" to use mirrors.

    Example: lambdadev size --base scratch --base distroless
    """
    from lambdadev import size as size_module
    from lambdadev.engine import Engine

    settings = _settings(build_arg_pairs=build_arg or ())
    with out.status("measuring image sizes") as status:
        rows = size_module.measure(
            Engine(),
            settings,
            base or (),
            on_step=out.info,
            on_line=None if out.is_tty else out.line,
        )
        status.update("done")
    if as_json:
        typer.echo(size_module.to_json(rows), nl=False)
    elif sys.stdout.isatty():
        from rich.console import Console

        size_module.print_rich(rows, Console(highlight=False))
    else:
        typer.echo(size_module.plain(rows), nl=False)


@app.command()
def down(
    all_projects: Annotated[
        bool, typer.Option("--all", help="Remove the containers of every function.")
    ] = False,
) -> None:
    """Remove the containers a `lambdadev up` left behind (e.g. after it was killed).

    Example: lambdadev down
    """
    from lambdadev.engine import LABEL_PROJECT, Engine

    engine = Engine()
    if all_projects:
        removed = engine.remove_labelled(LABEL_PROJECT)
    else:
        removed = engine.remove_labelled(f"{LABEL_PROJECT}={_settings().project_id}")
    out.info(f"removed {len(removed)} container(s)")
    for name in removed:
        typer.echo(name)


@events_app.command("list")
def events_list() -> None:
    """List the sample events.

    Example: lambdadev events list
    """
    from lambdadev import events

    for event in events.catalog():
        typer.echo(f"{event.name:<18} {event.go_type:<34} {event.description}")


@events_app.command("show")
def events_show(name: Annotated[str, typer.Argument(help="Name from `lambdadev events list`.")]) -> None:
    """Print a sample event's JSON.

    Example: lambdadev events show sqs > events/sqs.json
    """
    from lambdadev import events

    sys.stdout.buffer.write(events.load(name))


def main() -> None:
    try:
        app(prog_name="lambdadev")
    except LambdadevError as exc:
        if isinstance(exc, BuildFailed) and exc.log and out.is_tty:
            # on a terminal the spinner hid the tool's output: show its end
            for line in exc.log.splitlines()[-25:]:
                out.log(line)
        out.error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
