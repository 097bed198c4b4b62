"""What the local stand-in providers share: an HTTP server on loopback, served
from a daemon thread, with ``start()``, ``stop()`` and ``with``."""

from __future__ import annotations

import abc
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server whose request threads never keep the process alive."""

    daemon_threads = True
    # socketserver's default listen backlog of 5 drops the SYNs of concurrent
    # clients (a pool opening connections at once), which then wait 1 s or more.
    request_queue_size = 128


class LocalServer(abc.ABC):
    """Lifecycle of a stand-in served by ``_make_server()``'s server.

    ``_stopping`` is set while it stops, so a handler that hangs on purpose
    (``_stopping.wait(...)``) is released.
    """

    _server: LoopbackServer | None
    _thread: threading.Thread | None
    _stopping: threading.Event

    @abc.abstractmethod
    def _make_server(self) -> LoopbackServer:
        """A new server bound to a loopback port, its handler serving this stand-in."""

    def start(self) -> Self:
        """Listen on loopback and serve from a daemon thread (again after ``stop()``)."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = self._server = self._make_server()
        # A short poll interval: stop() waits for the loop to notice.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (hanging requests are released) and close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
