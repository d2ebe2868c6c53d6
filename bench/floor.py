"""What the HTTP stack alone costs, for reading the intake's ratio to ``GET /healthz``.

A bare Starlette app served as `watchkeeper serve` serves the real one (uvicorn on uvloop and
httptools), in its own process: ``GET /healthz`` as the bot answers it, and ``POST
/alerts/{integration}`` that reads its body and answers 202 with the intake's answer, after
spending a set amount of CPU (none, then more). The client sends the relay benchmark's alert
bodies at its pace (50/s, a /healthz every 0.1 s between), from the same kind of client.

The POST that does nothing is the floor of the intake's time; the ones that spend CPU show how
much work fits within 3x of /healthz on this machine.

Run: ``python bench/floor.py`` (20 s for each amount of work), ``--smoke`` for a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rig import free_port, machine, median, spread, wait_until  # noqa: E402

RATE = 50.0
HEALTH_EVERY = 5  # one /healthz after every fifth alert: 10/s, as in relay.py
WORK_MS = (0.0, 0.5, 1.0)


def _serve(port: int, work_ms: float) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def alerts(request: Request) -> Response:
        await request.body()
        until = time.thread_time() + work_ms / 1000
        while time.thread_time() < until:
            pass
        return JSONResponse({"status": "accepted", "alerts": 1, "ids": [4242]}, status_code=202)

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/alerts/{integration}", alerts, methods=["POST"]),
        ]
    )
    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning"
    )


async def _drive(url: str, seconds: float) -> tuple[list[float], list[float]]:
    posts: list[float] = []
    health: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def post(n: int) -> None:
            body = {"title": f"Checkout slow relay-{n:06d}", "severity": "warning"}
            began = time.monotonic()
            async with session.post(
                f"{url}/alerts/t000", json=body, headers={"Authorization": "Bearer x"}
            ) as answer:
                await answer.read()
                if answer.status == 202:
                    posts.append(time.monotonic() - began)

        async def get() -> None:
            began = time.monotonic()
            async with session.get(f"{url}/healthz") as answer:
                await answer.read()
                if answer.status == 200:
                    health.append(time.monotonic() - began)

        start = time.monotonic()
        tasks = []
        for n in range(int(seconds * RATE)):
            await asyncio.sleep(max(0.0, start + n / RATE - time.monotonic()))
            tasks.append(asyncio.create_task(post(n)))
            if n % HEALTH_EVERY == HEALTH_EVERY // 2:
                tasks.append(asyncio.create_task(get()))
        await asyncio.gather(*tasks)
    return posts, health


def _up(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="for each amount of work")
    parser.add_argument("--smoke", action="store_true", help="a few seconds in all")
    args = parser.parse_args()
    seconds = 2.0 if args.smoke else args.seconds
    print(f"machine at the start: {machine()}")
    print(f"floor: {RATE:.0f} POST/s for {seconds:.0f} s per row, /healthz 10/s between")
    for work_ms in WORK_MS:
        port = free_port()
        server = multiprocessing.Process(target=_serve, args=(port, work_ms), daemon=True)
        server.start()
        url = f"http://127.0.0.1:{port}"
        try:
            if not wait_until(lambda url=url: _up(url), timeout=30):
                print("the bare server did not start", file=sys.stderr)
                return 1
            posts, health = asyncio.run(_drive(url, seconds))
        finally:
            server.terminate()
            server.join(10)
        expected = int(seconds * RATE)
        if len(posts) != expected or not health:
            print(f"{expected - len(posts)} POSTs went unanswered", file=sys.stderr)
            return 1
        print(f"POST doing {work_ms:.1f} ms of CPU: {spread(posts)}")
        print(f"GET /healthz, same server & run: {spread(health)}")
        print(f"  POST p50 / healthz p50: {median(posts) / median(health):.2f}x")
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
