"""`./course serve` must leave nothing running when it is sent SIGTERM: the server is
the process ./course started as (exec), not an orphaned child of it.

    python3 check_serve_sigterm.py   (after course-serve is built in build/)
"""
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parents[2]
server = subprocess.Popen([sys.executable, "-B", str(root / "cmake" / "course.py"), "serve", "--port", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
deadline = time.time() + 40
line = ""
while time.time() < deadline:
    line = server.stdout.readline()
    if "listening on" in line or not line:
        break
match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
if not match:
    server.kill()
    sys.exit(f"FAILED: ./course serve did not say where it listens (got {line!r})")
port = int(match.group(1))

server.send_signal(signal.SIGTERM)   # to the pid ./course was started as
try:
    code = server.wait(timeout=15)
except subprocess.TimeoutExpired:
    server.kill()
    sys.exit("FAILED: ./course serve did not end within 15 s of SIGTERM")
rest = server.stdout.read()
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    sys.exit(f"FAILED: after SIGTERM something still listens on port {port}: an orphaned course-serve")
except OSError:
    pass
if "SIGTERM, stopping" not in rest:
    sys.exit(f"FAILED: the server never saw the SIGTERM (exit {code}); its output: {rest!r}")
print(f"ok: SIGTERM stopped the server itself (exit {code}); port {port} is free")
