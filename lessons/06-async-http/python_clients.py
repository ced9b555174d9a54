#!/usr/bin/env python3
"""The original material's Python clients, on the course's store and server: the figures
docs/06-async-http.md puts beside the C++ ones. Not part of the course's build or tests.

    ./course serve --latency-ms 5 --connect-cost-ms 20 --files-dir datasets/cache &
    /usr/bin/python3 lessons/06-async-http/python_clients.py http://127.0.0.1:PORT [CLIENT]

CLIENT is one of no-session, session, gather, semaphore (default: all four, one after
another; start a fresh server per client to read its own peak_in_flight).

Needs python3-requests and python3-aiohttp (Debian). Each client reads every chunk of
datasets/cache/arange.zarr and checks the array is 0..6442.
"""
import asyncio
import json
import struct
import sys
import time
import zlib

import aiohttp
import requests

base = sys.argv[1].rstrip("/") + "/files/arange.zarr"
meta = json.loads(requests.get(base + "/.zarray").text)
n_values, chunk = meta["shape"][0], meta["chunks"][0]
keys = [str(i) for i in range((n_values + chunk - 1) // chunk)]


def check(chunks):
    values = []
    for data in chunks:
        values.extend(struct.unpack("<%dd" % chunk, zlib.decompress(data)))
    assert values[:n_values] == [float(i) for i in range(n_values)], "wrong array"


def no_session():  # requests.get: a new connection per chunk (the original's 342 s shape)
    return [requests.get(f"{base}/{k}").content for k in keys]


def session():  # one requests.Session: one kept connection (the 98 s shape)
    with requests.Session() as s:
        return [s.get(f"{base}/{k}").content for k in keys]


async def fetch(s, key, limit=None):
    if limit:
        async with limit:
            async with s.get(f"{base}/{key}") as r:
                return await r.read()
    async with s.get(f"{base}/{key}") as r:
        return await r.read()


async def gather_all():  # every chunk at once (the 1.8 s shape)
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as s:
        return await asyncio.gather(*(fetch(s, k) for k in keys))


async def gather_limited(n=10):  # at most 10 at once: asyncio.Semaphore(10)
    limit = asyncio.Semaphore(n)
    async with aiohttp.ClientSession() as s:
        return await asyncio.gather(*(fetch(s, k, limit) for k in keys))


def stats():
    return requests.get(sys.argv[1].rstrip("/") + "/stats").json()


clients = {"no-session": ("requests, no session", no_session), "session": ("requests.Session", session),
           "gather": ("aiohttp gather, all at once", lambda: asyncio.run(gather_all())),
           "semaphore": ("aiohttp gather, Semaphore(10)", lambda: asyncio.run(gather_limited()))}
chosen = sys.argv[2:] or list(clients)
for name, run in (clients[c] for c in chosen):
    before = stats()
    start = time.perf_counter()
    chunks = run()
    seconds = time.perf_counter() - start
    after = stats()
    check(chunks)
    print(f"{name:32s} {seconds:8.2f} s   connections {after['connections_opened'] - before['connections_opened'] - 1:5d}"
          f"   peak in flight {after['peak_in_flight']}")
