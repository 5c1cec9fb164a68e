"""The API load generator of bench/calls.py: POSTs at a fixed rate, open loop, in a process of its own.

    python -m bench.callgen --url http://127.0.0.1:8080/restcomm/2012-04-24/Accounts/AC.../Calls.json \
        --rate 100 --seconds 30 --body 'From=...&To=...&Url=...' --authorization 'Basic ...' --out run.json

Request i goes out at start + i / rate whatever happened to the earlier ones (open loop: a slow server
gets more requests in flight, not fewer, as it would from real clients). Each goes on a kept-alive
connection from a pool; when every connection is busy a new one is opened. The client is raw HTTP/1.1
over asyncio streams on uvloop: a request costs this process a few tens of microseconds, so it keeps any
rate the server could, and the lag of each send behind its schedule is recorded to prove it.

Writes one JSON document to --out: for every request [lag_ms, sent, done, HTTP status, call SID] (times
in epoch seconds, the clock sipp's traces use; status 0 is a transport error), and this process's CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import uvloop

from testkit import processes

# A connection idle this long may be closed by the server (uvicorn's keep-alive timeout is 5 s): never reuse it.
MAX_IDLE_S = 2.0


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = 0.0


@dataclass
class Pool:
    host: str
    port: int
    idle: list[Connection] = field(default_factory=list)
    opened: int = 0

    async def acquire(self) -> Connection:
        now = time.monotonic()
        # Most recently used first (a stack): the others age out and are closed instead of going stale.
        while self.idle:
            connection = self.idle.pop()
            if now - connection.last_used < MAX_IDLE_S:
                return connection
            connection.writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return Connection(reader, writer)

    def release(self, connection: Connection) -> None:
        connection.last_used = time.monotonic()
        self.idle.append(connection)


def build_request(url: str, body: str, authorization: str) -> bytes:
    parts = urlsplit(url)
    encoded = body.encode()
    head = (f"POST {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\n"
            + (f"Authorization: {authorization}\r\n" if authorization else "")
            + "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(encoded)}\r\n\r\n")
    return head.encode() + encoded


async def exchange(connection: Connection, payload: bytes) -> tuple[int, bytes, bool]:
    """One request and its response: (status, body, whether the connection may be reused)."""
    connection.writer.write(payload)
    head = await connection.reader.readuntil(b"\r\n\r\n")
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        raise RuntimeError("chunked responses are not supported by this client")
    length = 0
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await connection.reader.readexactly(length)
    return int(head[9:12]), body, b"connection: close" not in lowered


def call_sid(status: int, body: bytes) -> str | None:
    if status != 200 or not body.startswith(b"{"):
        return None
    return json.loads(body).get("sid")


@dataclass
class Generator:
    pool: Pool
    payload: bytes
    timeout_s: float
    errors: list[str] = field(default_factory=list)

    async def send(self, due: float) -> list:
        loop = asyncio.get_running_loop()
        connection = None
        try:
            async with asyncio.timeout(self.timeout_s):
                connection = await self.pool.acquire()
                lag_ms = (loop.time() - due) * 1000
                sent = time.time()
                status, body, reusable = await exchange(connection, self.payload)
                done = time.time()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, RuntimeError, ValueError) as exc:
            if len(self.errors) < 5:
                self.errors.append(repr(exc))
            if connection is not None:
                connection.writer.close()  # in an unknown state: never reused
            return [(loop.time() - due) * 1000, time.time(), time.time(), 0, None]
        if reusable:
            self.pool.release(connection)
        else:
            connection.writer.close()
        return [lag_ms, sent, done, status, call_sid(status, body)]

    async def run(self, rate: float, seconds: float) -> list[list]:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        tasks = []
        for i in range(round(rate * seconds)):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.send(due)))
        return list(await asyncio.gather(*tasks))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.callgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--body", default="", help="form-encoded body of every request")
    parser.add_argument("--authorization", default="", help="the Authorization header")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one request may take")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> dict:
    parts = urlsplit(args.url)
    generator = Generator(Pool(parts.hostname or "127.0.0.1", parts.port or 80),
                          build_request(args.url, args.body, args.authorization), args.timeout)
    cpu_before = processes.cpu_seconds()
    samples = await generator.run(args.rate, args.seconds)
    return {"samples": samples, "cpu_s": processes.cpu_seconds() - cpu_before, "connections": generator.pool.opened,
            "errors": generator.errors}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = uvloop.run(main_async(args))
    with open(args.out, "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
