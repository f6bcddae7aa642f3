"""A tiny HTTP server on 127.0.0.1 that answers from a script (status, headers) or drops
the connection, and logs when each request arrived. For retry-policy tests."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"


@dataclass
class Arrival:
    method: str
    path: str
    time: float
    status: int | None


@dataclass
class ScriptedServer:
    """``script`` entries: ``DROP`` or ``(status, {header: value})``; empty script -> 200."""

    script: deque[Any] = field(default_factory=deque)
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    httpd: ThreadingHTTPServer | None = None

    def start(self) -> ScriptedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server.lock:
                    action = server.script.popleft() if server.script else (200, {})
                    status = None if action == DROP else action[0]
                    server.arrivals.append(Arrival(self.command, self.path, time.time(), status))
                if action == DROP:
                    self.close_connection = True
                    return
                code, headers = action
                body = b'{"ok": true}' if code < 400 else b'{"errorMessages": ["scripted"]}'
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
