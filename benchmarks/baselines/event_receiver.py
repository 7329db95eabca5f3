#!/usr/bin/env python3
"""A minimal data-platform receiver for benchmarks/relay.sh: HTTP/1.1 keep-alive on loopback,
answers 200 to every POST, and counts requests and events (one per request for application/json,
one per line for application/x-ndjson). Writes {"requests": N, "events": M} to the file given
whenever it is sent SIGUSR1, and on SIGTERM.

    event_receiver.py PORT_FILE COUNT_FILE
"""
import asyncio, json, signal, sys

port_file, count_file = sys.argv[1], sys.argv[2]
counts = {"requests": 0, "events": 0}


def dump():
    with open(count_file, "w") as f:
        json.dump(counts, f)


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length, batch = 0, False
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"content-type":
                    batch = b"ndjson" in value
            body = await reader.readexactly(length)
            counts["requests"] += 1
            counts["events"] += body.count(b"\n") if batch else 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):  # closed, or shutting down
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, dump)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    with open(port_file, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    await stop
    dump()


asyncio.run(main())
