"""Is HOST:PORT free for `make run`? Exit 0 when it is; otherwise print a one-line hint and exit 1.

Usage: python scripts/check_port.py HOST PORT   (standard library only: runs before the venv exists)
"""

from __future__ import annotations

import errno
import socket
import sys


def in_use(host: str, port: int) -> bool:
    """True when a server already answers on host:port, or the port cannot be bound there."""
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
    try:
        with socket.create_connection((probe_host, port), timeout=0.5):
            return True  # someone answers (macOS's AirPlay on 5000 binds *:5000 and still accepts)
    except OSError:
        pass
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the development server does
        try:
            sock.bind((host, port))
        except OSError as error:  # another error (a bad HOST, a privileged port): the server will say
            return error.errno == errno.EADDRINUSE
    return False


def free_port(host: str, start: int) -> int | None:
    """The first free port from ``start`` on (100 tries)."""
    return next((port for port in range(start, min(start + 100, 65536)) if not in_use(host, port)), None)


def main(host: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        print(f"PORT must be a number from 1 to 65535, not {text!r}: try make run PORT=5050")
        return 1
    port = int(text)
    if not in_use(host, port):
        return 0
    other = free_port(host, 5050 if port < 5050 else port + 1)
    hint = f"try make run PORT={other}" if other else "choose another with make run PORT=…"
    print(f"Port {port} is in use: {hint}")
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
