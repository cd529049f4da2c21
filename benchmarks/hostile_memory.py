"""Benchmark: the peak memory of a client facing a hostile target, one fresh process per case.

Each case starts a misbehaving server on 127.0.0.1 (port 0) and reads it with flowprobe's client
in a child process, then reports the child's peak RSS next to a baseline child that makes one
ordinary call, side by side in one run:

    python benchmarks/hostile_memory.py

Cases: a 200 MB record with no end (streamed), a 200 MB JSON answer (``run``), a gzip bomb
(256 MB of zeros in under 300 KB, ``run``), and an ordinary answer (the baseline).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MB = 1024 * 1024


def _bomb(megabytes: int = 256) -> bytes:
    # Compressed a megabyte at a time, so this process never holds the 256 MB it expands to.
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    block = b"\0" * MB
    return b"".join([packer.compress(block) for _ in range(megabytes)]) + packer.flush()


BOMB = _bomb()


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        case = self.path.split("/")[4].split("?")[0]
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped
            getattr(self, "_" + case.replace("-", "_"))()

    def _head(self, content_type: str, **headers: str) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _endless_record(self) -> None:
        self._head("text/event-stream")
        self.wfile.write(b'{"event": "token", "data": {"chunk": "')
        for _ in range(200):
            self.wfile.write(b"x" * MB)

    def _huge_json(self) -> None:
        self._head("application/json")
        self.wfile.write(b'{"outputs": "')
        for _ in range(200):
            self.wfile.write(b"y" * MB)
        self.wfile.write(b'"}')

    def _gzip_bomb(self) -> None:
        self._head("application/json", **{"content-encoding": "gzip"})
        self.wfile.write(BOMB)

    def _ordinary(self) -> None:
        body = json.dumps({"session_id": "s", "outputs": []}).encode()
        self._head("application/json", **{"content-length": str(len(body))})
        self.wfile.write(body)


CHILD = """
import re, sys
from pathlib import Path
from flowprobe.errors import TargetError
from flowprobe.target import Target
from flowprobe.wire.client import RunClient
url, case, stream = sys.argv[1], sys.argv[2], sys.argv[3] == "stream"
client = RunClient(Target(base_url=url, flow=case, api_key="canary"))
try:
    client.run_stream() if stream else client.run()
    outcome = "read"
except TargetError as exc:
    outcome = str(exc).split("; ")[-1]
# VmHWM: this process's peak resident memory since exec (ru_maxrss would include the parent's)
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024, outcome)
"""

CASES = [
    ("ordinary", "run", "baseline: an ordinary answer"),
    ("endless-record", "stream", "200 MB record, no end, streamed"),
    ("huge-json", "run", "200 MB JSON answer"),
    ("gzip-bomb", "run", f"gzip bomb ({len(BOMB) // 1024} KB -> 256 MB)"),
]


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    rows = []
    for case, mode, label in CASES:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, url, case, mode],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        peak, _, outcome = done.stdout.strip().partition(" ")
        rows.append((label, int(peak), outcome))
    server.shutdown()
    baseline = rows[0][1]
    print(f"{'case':40} {'peak RSS':>9} {'x baseline':>10}  outcome")
    for label, peak, outcome in rows:
        print(f"{label:40} {peak:>6} MB {peak / baseline:>10.2f}  {outcome}")


if __name__ == "__main__":
    main()
