"""A threaded HTTP server for the simulator, usable from tests and from the management command.

    state = SimulatorState(configs=100, seed=1)
    server = SimulatorServer(state).start()       # port 0: any free port
    ... server.url ...                             # "http://127.0.0.1:54321"
    server.stop()

One thread per connection (daemon threads), so latency sleeps in one request never hold up
another. HTTP/1.1 with keep-alive, as a real endpoint: a client's connection pool is exercised
(and a long sync does not use up the loopback's ephemeral ports). Per-request log lines are
silent unless ``verbose``. The server also implements the faults that need the socket: dropping
a connection without a response (``down``), resetting it (``reset``), closing after a truncated
body, and refusing connections altogether (:meth:`SimulatorServer.refuse_connections`).
"""

from __future__ import annotations

import socket
import socketserver
import struct
import sys
import threading
from types import TracebackType
from typing import Any
from wsgiref import simple_server

from .app import SimulatorApp
from .faults import AbortConnection
from .state import SimulatorState


class _ServerHandler(simple_server.ServerHandler):
    """wsgiref's handler, answering HTTP/1.1; an :class:`AbortConnection` drops the connection."""

    http_version = "1.1"

    def handle_error(self) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, AbortConnection):
            self.request_handler.close_connection = True
            _drop(self.request_handler.connection, reset=exc.mode == "reset")
            return
        super().handle_error()


def _drop(sock: socket.socket, *, reset: bool) -> None:
    """Close ``sock`` without a response: FIN (``down``) or RST (``reset``)."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Connections:
    """The open client connections, so stopping (or refusing) also ends kept-alive ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: set[_RequestHandler] = set()

    def add(self, handler: _RequestHandler) -> None:
        with self._lock:
            self._handlers.add(handler)

    def discard(self, handler: _RequestHandler) -> None:
        with self._lock:
            self._handlers.discard(handler)

    def drop_all(self) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            handler.drop_when_idle()


class _RequestHandler(simple_server.WSGIRequestHandler):
    """One client connection: HTTP/1.1 with keep-alive (several requests per connection)."""

    server: _ThreadingWSGIServer
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    # wsgiref writes the headers and the body separately; with Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the headers (40 ms per request on Linux). ModelArts does not.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.busy = False
        self.dropped = False
        self.close_after_response = False
        self.server.connections.add(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.discard(self)

    def drop_when_idle(self) -> None:
        """Close the connection now if it waits for a request, else after the current response."""
        self.dropped = True
        if not self.busy:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["RAW_URI"] = self.path  # PATH_INFO is percent-decoded; signing needs the raw path
        environ["sim.stop_event"] = self.server.stop_event
        environ["sim.close_connection"] = self._close_after_response  # wsgiref copies environ: a callback
        return environ

    def _close_after_response(self) -> None:
        self.close_after_response = True

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one()
        while not self.close_connection and not self.dropped:
            self._handle_one()

    def _handle_one(self) -> None:
        # wsgiref's handle(), with our ServerHandler, for one request of a kept-alive connection.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        self.busy = True
        try:
            if len(self.raw_requestline) > 65536:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(414)
                return
            if not self.parse_request():
                return
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True  # bodies are read by Content-Length only
            self.close_after_response = False
            handler = _ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)
            handler.request_handler = self
            handler.run(self.server.get_app())
            if self.close_after_response or self.dropped:
                self.close_connection = True
        finally:
            self.busy = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], *, verbose: bool, stop_event: threading.Event, connections: _Connections
    ) -> None:
        self.verbose = verbose
        self.stop_event = stop_event
        self.connections = connections
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (timeouts, resets) is normal here; anything else is a bug.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class SimulatorServer:
    """Serve a :class:`SimulatorState` over HTTP on ``host:port`` (port 0: any free port).

    Use :meth:`start` (returns self), :attr:`url`, :meth:`stop`; or ``with SimulatorServer(state) as s:``.
    """

    def __init__(self, state: SimulatorState, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.verbose = verbose
        self.app = SimulatorApp(state, verbose=verbose)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._httpd: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._reopen_timer: threading.Timer | None = None
        self._connections = _Connections()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SimulatorServer:
        """Bind and serve in a background thread. Raises ``OSError`` when the port is taken."""
        with self._lock:
            self._stop_event.clear()
            self._listen()
        self.state.refuse_hook = self.refuse_connections
        return self

    def _listen(self) -> None:
        httpd = _ThreadingWSGIServer(
            (self.host, self.port), verbose=self.verbose, stop_event=self._stop_event, connections=self._connections
        )
        httpd.set_app(self.app)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"modelarts-sim:{self.port}", daemon=True
        )
        self._thread.start()

    def _close_listener(self) -> None:
        """Stop accepting, and end the kept-alive connections (after their current response)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._connections.drop_all()

    def refuse_connections(self, seconds: float | None = None) -> None:
        """Stop listening (clients get "connection refused"); listen again after ``seconds`` if given.

        Requests already being answered finish normally.
        """
        with self._lock:
            self._close_listener()
            if seconds is not None:
                self._reopen_timer = threading.Timer(seconds, self.accept_connections)
                self._reopen_timer.daemon = True
                self._reopen_timer.start()

    def accept_connections(self) -> None:
        """Listen again on the same port after :meth:`refuse_connections`."""
        with self._lock:
            if self._httpd is None and not self._stop_event.is_set():
                self._listen()

    @property
    def listening(self) -> bool:
        return self._httpd is not None

    def stop(self) -> None:
        """Stop serving, close the socket and wake requests sleeping in latency/slow faults."""
        with self._lock:
            self._stop_event.set()
            if self._reopen_timer is not None:
                self._reopen_timer.cancel()
                self._reopen_timer = None
            self._close_listener()
        if self.state.refuse_hook == self.refuse_connections:
            self.state.refuse_hook = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
