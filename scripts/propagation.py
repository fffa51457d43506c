#!/usr/bin/env python3
"""How long a logout through one replica takes to be enforced by another.

    scripts/propagation.py http://127.0.0.1:A http://127.0.0.1:B [rounds]

Each round logs in at A, checks the token works at B, logs out at A, then asks B every
millisecond until it answers 401. Prints p50, p99 and max in milliseconds. Standard library
only; talks to the two given addresses and nothing else.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse


def request(base, method, path, body=None, token=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def main():
    a, b = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    # johndoe's password: the demo's, or the one the bench gave the database's johndoe.
    password = os.environ.get("PASSFLOW_PASSWORD", "secret")
    delays = []
    for _ in range(rounds):
        status, data = request(a, "POST", "/token", f"username=johndoe&password={password}")
        assert status == 200, (status, data)
        token = json.loads(data)["access_token"]
        status, _ = request(b, "GET", "/users/me/", token=token)
        assert status == 200, status
        status, _ = request(a, "POST", "/logout", token=token)
        assert status == 204, status
        ended = time.perf_counter()
        while request(b, "GET", "/users/me/", token=token)[0] != 401:
            assert time.perf_counter() - ended < 5, "not enforced within 5 s"
            time.sleep(0.001)
        delays.append((time.perf_counter() - ended) * 1000)
    delays.sort()
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"{pick(0.5):.1f} {pick(0.99):.1f} {delays[-1]:.1f}")


if __name__ == "__main__":
    main()
