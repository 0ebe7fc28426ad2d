"""Stand-in servers for the end-to-end tests, run inside a namespace as a script.

    python listeners.py --log FILE --http 198.51.100.1:80=upstream-ok --echo 198.51.100.1:7
                        --record-tcp 198.51.100.1:853 --record-udp 198.51.100.1:443

`--http ADDR:PORT=BODY` answers every GET with BODY; `--echo` sends back what
arrives; `--record-tcp` and `--record-udp` append one line per connection or
datagram to the log, so a test can show that nothing got through. IPv6
addresses are written in brackets. "ready" is printed once every socket is bound.
"""

from __future__ import annotations

import argparse
import http.server
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from pathlib import Path


def split_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Recorder:
    """Appends one line per event to the log file (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self.lock, self.path.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")


def http_server(address: str, body: bytes) -> socketserver.BaseServer:
    host, port = split_address(address)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = family_of(host)
        daemon_threads = True

        def server_bind(self) -> None:
            # HTTPServer would look its own name up in DNS, which may hang in a namespace.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = host, port

    return Server((host, port), Handler)


def tcp_server(address: str, serve: Callable[[socket.socket], None]) -> socketserver.BaseServer:
    host, port = split_address(address)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            serve(self.request)

    class Server(socketserver.ThreadingTCPServer):
        address_family = family_of(host)
        allow_reuse_address = True
        daemon_threads = True

    return Server((host, port), Handler)


def echo(connection: socket.socket) -> None:
    while data := connection.recv(4096):
        connection.sendall(data)


def udp_server(address: str, record: Recorder) -> socketserver.BaseServer:
    host, port = split_address(address)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            record(f"udp {address} from {self.client_address[0]}")

    class Server(socketserver.ThreadingUDPServer):
        address_family = family_of(host)

    return Server((host, port), Handler)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--http", action="append", default=[], metavar="ADDR:PORT=BODY")
    parser.add_argument("--echo", action="append", default=[], metavar="ADDR:PORT")
    parser.add_argument("--record-tcp", action="append", default=[], metavar="ADDR:PORT")
    parser.add_argument("--record-udp", action="append", default=[], metavar="ADDR:PORT")
    args = parser.parse_args()
    record = Recorder(args.log)
    servers: list[socketserver.BaseServer] = []
    for spec in args.http:
        address, _, body = spec.partition("=")
        servers.append(http_server(address, body.encode()))
    servers.extend(tcp_server(address, echo) for address in args.echo)
    for address in args.record_tcp:

        def note(connection: socket.socket, address: str = address) -> None:
            record(f"tcp {address} from {connection.getpeername()[0]}")

        servers.append(tcp_server(address, note))
    servers.extend(udp_server(address, record) for address in args.record_udp)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
