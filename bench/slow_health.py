"""A health endpoint that answers every request after a fixed delay (asyncio, big backlog).

Run: `python bench/slow_health.py DELAY_MS` — prints the port it listens on, then serves.
Python's ThreadingHTTPServer cannot accept hundreds of connections at once fast enough to
measure a client, so the bench uses this instead.
"""

from __future__ import annotations

import asyncio
import json
import sys

BODY = json.dumps({"status": "healthy"}).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(BODY)}\r\n\r\n".encode()
    + BODY
)


async def serve(delay_s: float) -> None:
    """Answer keep-alive HTTP/1.1 GETs, each after `delay_s`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(delay_s)
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]) / 1000))
