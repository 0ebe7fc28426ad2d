"""Guests holding slow connections to a portal on loopback, each from an address of its own
(tests/test_slow_guests.py, bench/slow_guests.py)."""

from __future__ import annotations

import socket
import threading

HEADERS_BEGUN = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
BODY_BEGUN = (
    b"POST /access HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 600\r\n\r\ncsrf"
)


class SlowGuest:
    """A guest's connection that sends `first`, then a byte of `trickle` a second (if any)."""

    def __init__(self, port: int, source: str, first: bytes, trickle: bytes = b"") -> None:
        self.connection = socket.create_connection(
            ("127.0.0.1", port), timeout=30, source_address=(source, 0)
        )
        self.connection.sendall(first)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, args=(trickle,), daemon=True)
        self.thread.start()

    def _trickle(self, trickle: bytes) -> None:
        for byte in trickle:
            if self.stop.wait(1.0):
                return
            try:
                self.connection.send(bytes([byte]))
            except OSError:
                return

    def answer(self) -> bytes:
        """All the server sends until it closes the connection (30 s at most). A server that
        closes while bytes are still trickling in makes the kernel answer them with a reset:
        that is a close too."""
        received = b""
        try:
            while chunk := self.connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.connection.close()
