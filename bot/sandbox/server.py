"""Run an ASGI app on a loopback port in a background thread (tests, benchmarks, the sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import uvicorn
from uvicorn.config import LOGGING_CONFIG

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class RunningServer:
    """A uvicorn server serving one app from a daemon thread; `stop()` shuts it down."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, host: str, port: int):
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the server down, closing its connections, and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            # A connection that refuses to close (a client stuck mid-request) must not hang a run.
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    lifespan: Literal["on", "off"] = "off",
    log_config: dict[str, Any] | None = LOGGING_CONFIG,
) -> RunningServer:
    """Serve `app` on host:port (0 = an ephemeral port); return once it accepts connections.

    With ``lifespan="on"`` the app's startup runs before the port accepts connections and its
    shutdown runs on `stop()`; ``log_config=None`` leaves logging as the process set it up.
    """
    # Binding the socket here, not in uvicorn, tells us the ephemeral port before the thread starts
    # and turns "address in use" into an error raised in the caller's thread.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out at once: without it, a kept-alive client waits out the peer's delayed ACK
    # (40 ms) on every call. Accepted connections inherit the option.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    bound_port = sock.getsockname()[1]

    config = uvicorn.Config(
        app,
        log_level=log_level,
        log_config=log_config,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as error:  # reported to the caller below, not lost in the thread
            failure.append(error)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"asgi-{host}:{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive():
            reason = repr(failure[0]) if failure else "the server thread ended"
            raise RuntimeError(f"the server on {host}:{bound_port} did not start: {reason}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(
                f"the server on {host}:{bound_port} did not start in {START_TIMEOUT}s"
            )
        time.sleep(0.01)
    return RunningServer(server, thread, host, bound_port)


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[RunningServer]:
    """Async variant of `serve_in_thread`: serve `app` for the duration of an `async with` block."""
    running = await asyncio.to_thread(serve_in_thread, app, host, port)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)
