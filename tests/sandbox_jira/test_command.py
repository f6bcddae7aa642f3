"""``okrsync sandbox`` serves until stopped and prints its URLs and demo credentials."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

RUN = (
    "import sys; from okrsync.commands.sandbox import sandbox_command; "
    "sandbox_command(sys.argv[1:], prog_name='okrsync sandbox')"
)


def test_sandbox_command_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", RUN, "--port", "0", "--no-teambition", "--flavour", "both"),
            *("--faults", '{"rate_limit": 50, "retry_after": 3}'),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        urls = dict(re.findall(r"Jira (cloud|datacenter)\s+(http://\S+)", text))
        assert set(urls) == {"cloud", "datacenter"}, text
        assert "demo@okrsync.example / API token demo-token" in text
        assert "bearer token demo-pat" in text
        info = httpx.get(f"{urls['datacenter']}/rest/api/2/serverInfo").json()
        assert info["deploymentType"] == "Server"
        me = httpx.get(
            f"{urls['cloud']}/rest/api/3/myself", auth=("demo@okrsync.example", "demo-token")
        )
        assert me.status_code == 200
        # Faults given on the command line are in force from the start, on every server.
        for url in urls.values():
            faults = httpx.get(f"{url}/_sandbox/faults").json()
            assert (faults["rate_limit"], faults["retry_after"]) == (50, 3)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    assert code == 0


def test_sandbox_command_refuses_bad_faults() -> None:
    from click.testing import CliRunner

    from okrsync.commands.sandbox import sandbox_command

    result = CliRunner().invoke(sandbox_command, ["--port", "0", "--faults", "[1, 2]"])
    assert result.exit_code == 2
    assert "--faults" in result.output and "expected a JSON object" in result.output
