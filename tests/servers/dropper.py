"""A host that accepts every connection and closes it at once, counting them.

A refused port cannot say how often it was tried; this one can, so a test can count a
client's attempts on a host that never answers (each attempt is a new connection, since
the last one was closed)."""

from __future__ import annotations

import contextlib
import socket
import threading


class Dropper:
    def __init__(self) -> None:
        self.connections = 0
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._socket is not None, "not started"
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def __enter__(self) -> Dropper:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._socket is not None
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes accept(): the loop ends
        self._socket.close()
        if self._thread is not None:
            self._thread.join(5)

    def _accept(self) -> None:
        assert self._socket is not None
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            connection.close()
