"""Start the sandbox servers (Jira Cloud, Jira Data Center, Teambition) on local ports.

>>> with start_sandbox(seed="demo", jira=("cloud",), teambition=False) as sb:
...     url = sb.jira["cloud"].url

Each server runs a threaded werkzeug server in a daemon thread and exposes ``url``,
``faults``, ``log``, ``data`` (its store) and ``stop()``, which returns within a fraction
of a second. ``faults.reset()`` and ``POST /_sandbox/reset`` clear faults only; the data
goes back to the seed with ``data.reset()``, ``POST /_sandbox/reset`` with the body
``{"data": true}``, or a restart.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from okrsync.sandbox.faults import Faults, RequestLog, WSGIApp
from okrsync.sandbox.jira.seed_check import check_section as check_jira
from okrsync.sandbox.seed_check import Problems, SeedProblems
from okrsync.sandbox.teambition.seed import check_section as check_teambition

JIRA_FLAVOURS = ("cloud", "datacenter")
#: Port offsets from the base port when one is given (the CLI's fixed layout).
PORT_OFFSETS = {"cloud": 0, "datacenter": 1, "teambition": 2}
TEAMBITION_PREFIX = "/api"
SEED_KEYS = frozenset({"jira", "teambition"})


class SandboxError(Exception):
    """The sandbox cannot start as asked (bad seed, unknown flavour)."""


class SeedError(SandboxError):
    """A seed the sandbox refuses: one line per problem, ``<source>: <path>: <problem>``
    (``<source>:<line>: ...`` when the line of a YAML seed's entry is known)."""

    def __init__(self, source: str, problems: list[str], lines: Sequence[int | None] = ()) -> None:
        lines = list(lines) or [None] * len(problems)
        where = [f"{source}:{line}" if line else source for line in lines]
        super().__init__("\n".join(f"{at}: {p}" for at, p in zip(where, problems, strict=True)))
        self.source = source
        self.problems = list(problems)


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps werkzeug's per-request lines off stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silence the access log; the sandbox keeps its own :class:`RequestLog`."""


class SandboxServer:
    """One running server: ``url`` (base URL), ``faults``, ``log``, ``data`` and ``stop()``."""

    def __init__(
        self,
        name: str,
        app: WSGIApp,
        faults: Faults,
        log: RequestLog,
        *,
        data: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        quiet: bool = True,
    ) -> None:
        self.name = name
        self.faults = faults
        self.log = log
        self.data = data
        handler = _QuietHandler if quiet else WSGIRequestHandler
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=handler
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.host = host
        self.port: int = self._server.server_port
        self.url = f"http://{host}:{self.port}{prefix}"
        self._thread = threading.Thread(
            # A short poll interval keeps stop() quick; the loop is idle otherwise.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{name}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __repr__(self) -> str:
        return f"SandboxServer({self.name!r}, {self.url!r})"


class Sandbox:
    """The running servers: ``jira[flavour]`` and ``teambition`` (None when not started)."""

    def __init__(self, jira: dict[str, SandboxServer], teambition: SandboxServer | None) -> None:
        self.jira = jira
        self.teambition = teambition

    @property
    def servers(self) -> list[SandboxServer]:
        """Every running server."""
        found = list(self.jira.values())
        if self.teambition is not None:
            found.append(self.teambition)
        return found

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers:
            server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def check_seed(data: Any, source: str, text: str | None = None) -> None:
    """Raise :class:`SeedError` listing every problem of a seed's sections, located (with
    line numbers when ``text`` is the seed's YAML)."""
    problems = Problems()
    if problems.is_mapping(data, "seed"):
        problems.known_keys(data, "seed", SEED_KEYS)
        problems.found += check_jira(data.get("jira")) + check_teambition(data.get("teambition"))
    if problems.found:
        lines = yaml_lines(text, problems.found) if text is not None else []
        raise SeedError(source, problems.found, lines)


_STEP = re.compile(r"\[(\d+)\]|([^.\[]+)")


def yaml_lines(text: str, problems: list[str]) -> list[int | None]:
    """The line of each problem's entry in the YAML ``text`` (the deepest part of its path
    that the text has), or None."""
    from ruamel.yaml import YAML

    root = YAML(typ="rt").load(text)
    found: list[int | None] = []
    for problem in problems:
        node, line = root, None
        path = problem.split(": ", 1)[0]
        for index, key in _STEP.findall(path.removeprefix("seed")):
            position = None
            if index and isinstance(node, list) and int(index) < len(node):
                position, node = node.lc.item(int(index)), node[int(index)]  # type: ignore[attr-defined]
            elif key and isinstance(node, dict) and key in node:
                position, node = node.lc.key(key), node[key]  # type: ignore[attr-defined]
            if position is None:
                break
            line = position[0] + 1
        found.append(line)
    return found


def load_seed(seed: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Resolve a seed: ``"demo"``, ``"generated:N"``, a JSON/YAML file, or a dict.

    The result has optional ``"jira"`` and ``"teambition"`` sections. A file or dict seed
    is checked first: :class:`SeedError` names the file and the path of each bad entry.
    """
    if isinstance(seed, Mapping):
        check_seed(seed, "seed")
        return dict(seed)
    if isinstance(seed, str) and seed == "demo":
        from okrsync.sandbox.demo import demo_seed

        return demo_seed()
    if isinstance(seed, str) and seed.startswith("generated:"):
        from okrsync.sandbox.demo import generated

        count = seed.partition(":")[2]
        if not count.isdigit():
            raise SandboxError(f"seed {seed!r}: expected generated:N with N a whole number")
        return generated(int(count))
    path = Path(seed)
    if not path.is_file():
        raise SandboxError(f"seed {seed!r}: no such file (or use 'demo' or 'generated:N')")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            from ruamel.yaml import YAML

            # YAML reads unquoted times as datetimes; the trackers' JSON carries text.
            loaded = json.loads(json.dumps(YAML(typ="safe").load(text), default=_iso))
        else:
            loaded = json.loads(text)
    except Exception as exc:
        raise SeedError(str(seed), [f"cannot parse: {exc}"]) from None
    if not isinstance(loaded, dict):
        raise SeedError(str(seed), ["expected a mapping with 'jira' and/or 'teambition'"])
    check_seed(loaded, str(seed), text if path.suffix.lower() in {".yaml", ".yml"} else None)
    return loaded


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot read {value!r} as JSON")


def start_jira(
    section: Mapping[str, Any] | None,
    flavour: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
) -> SandboxServer:
    """Start one Jira server of the given flavour (``cloud`` or ``datacenter``)."""
    from okrsync.sandbox.jira.app import create_app

    faults, log = Faults(), RequestLog()
    app = create_app(section, flavour, faults, log)
    return SandboxServer(
        f"jira-{flavour}", app, faults, log, data=app.data, host=host, port=port, quiet=quiet
    )


def start_teambition(
    section: Mapping[str, Any] | None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
) -> SandboxServer:
    """Start the Teambition server; its base URL ends in ``/api``."""
    from okrsync.sandbox.teambition.app import create_app

    faults, log = Faults(), RequestLog()
    app = create_app(section, faults, log)
    return SandboxServer(
        "teambition",
        app,
        faults,
        log,
        data=app.data,
        host=host,
        port=port,
        prefix=TEAMBITION_PREFIX,
        quiet=quiet,
    )


def start_sandbox(
    seed: str | Path | Mapping[str, Any] = "demo",
    jira: Iterable[str] = JIRA_FLAVOURS,
    teambition: bool = True,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
) -> Sandbox:
    """Start the requested servers on ``host``.

    ``port=0`` gives every server its own ephemeral port; a fixed ``port`` puts Cloud on
    it, Data Center on ``port+1`` and Teambition on ``port+2``. Each flavour gets its own
    copy of the seed data, so changes made through one do not show in the other.
    """
    flavours = list(jira)
    unknown = [f for f in flavours if f not in JIRA_FLAVOURS]
    if unknown:
        raise SandboxError(f"unknown Jira flavour(s) {unknown}; expected {list(JIRA_FLAVOURS)}")
    data = load_seed(seed)
    source = "seed" if isinstance(seed, Mapping) else str(seed)
    builtin = isinstance(seed, str) and (seed == "demo" or seed.startswith("generated:"))
    section = "jira"
    started: dict[str, SandboxServer] = {}
    tb: SandboxServer | None = None

    def port_for(name: str) -> int:
        return port + PORT_OFFSETS[name] if port else 0

    try:
        for flavour in flavours:
            started[flavour] = start_jira(
                data.get("jira"), flavour, host=host, port=port_for(flavour), quiet=quiet
            )
        section = "teambition"
        if teambition:
            tb = start_teambition(
                data.get("teambition"), host=host, port=port_for("teambition"), quiet=quiet
            )
    except BaseException as exc:
        for server in started.values():
            server.stop()
        if isinstance(exc, SeedProblems):
            raise SeedError(source, exc.problems) from None
        if not builtin and isinstance(exc, KeyError | TypeError | ValueError | AttributeError):
            # A shape no check foresaw: still one line naming the seed, not a traceback.
            problem = f"{section}: cannot load: {type(exc).__name__}: {exc}"
            raise SeedError(source, [problem]) from exc
        raise
    return Sandbox(started, tb)
