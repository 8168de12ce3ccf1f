#!/usr/bin/env python3
"""Hostile traffic against a running seq2seq-server (loopback only), with good requests mixed in.

    python3 Benchmarks/hostile.py --port 8080 --count 10000 [--threads 16]

Sends COUNT requests: malformed JSON, wrong types, huge bodies, huge beams, ids out of range, too many
sentences, unknown fields and routes, raw garbage, truncated bodies, slow senders and clients that vanish
mid-request, and every 10th request a good one whose answer is checked. Reports the status classes seen,
whether every good request was answered correctly, and whether the server is still alive. Standard library
only; every socket has a timeout and the run is bounded by COUNT.
"""
import argparse
import json
import random
import socket
import threading
import time
from collections import Counter

GOOD = [("24/11/2026", "2026-11-24"), ("nov 24 2026", "2026-11-24"), ("1 Jan 1999", "1999-01-01")]


def body_request(path, body, method="POST"):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def hostile(i, rnd):
    kinds = [
        lambda: body_request("/v1/translate", b'{"text": ["24/11/2026"'),
        lambda: body_request("/v1/translate", b'{"text": 5}'),
        lambda: body_request("/v1/translate", b'{"text": ["a"], "beam_size": 100000000}'),
        lambda: body_request("/v1/translate", b'{"source_ids": [[1, 2, 99999999]]}'),
        lambda: body_request("/v1/translate", b'{"source_ids": [[-5]]}'),
        lambda: body_request("/v1/translate", json.dumps({"text": ["x"] * 1000}).encode()),
        lambda: body_request("/v1/translate", b'{"text": ["' + b"9" * 5000 + b'"]}'),
        lambda: body_request("/v1/translate", b'{"text": ["a"], "max_length": 1e300}'),
        lambda: body_request("/v1/translate", b'{"text": ["a"], "length_penalty": "x", "bogus": 1}'),
        lambda: body_request("/v1/translate", b"[" * 100000),
        lambda: body_request("/v1/translate", b"\xff\xfe\x00garbage"),
        lambda: body_request("/v1/translate", b"x" * (2 << 20)),  # over the body limit
        lambda: body_request("/v1/score", b'{"source_ids": [[5]], "target_ids": [[99999]]}'),
        lambda: body_request("/translator/translate", b'[{"src": 5}]'),
        lambda: body_request("/nope", b"{}"),
        lambda: b"GET / HTTP/9.9\r\n\r\n",
        lambda: bytes(rnd.getrandbits(8) for _ in range(200)),
        lambda: b"POST /v1/translate HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n{",
        lambda: b"POST /v1/translate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
    ]
    return kinds[i % len(kinds)]()


def exchange(port, data, timeout=10, vanish=False, slow=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if slow:
            for k in range(0, min(len(data), 40), 4):
                s.sendall(data[k:k + 4])
                time.sleep(0.02)
            s.close()
            return "vanished"
        s.sendall(data)
        if vanish:
            return "vanished"
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
        raw = b"".join(chunks)
        if not raw:
            return "closed", raw
        return int(raw.split(b" ", 2)[1]), raw
    except (ConnectionResetError, BrokenPipeError):
        return "closed", b""
    except socket.timeout:
        return "timeout", b""
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args()
    lock = threading.Lock()
    seen = Counter()
    good_ok = good_bad = 0
    failures = []
    next_i = [0]

    def worker(seed):
        nonlocal good_ok, good_bad
        rnd = random.Random(seed)
        while True:
            with lock:
                i = next_i[0]
                if i >= args.count:
                    return
                next_i[0] += 1
            if i % 10 == 0:
                src, want = GOOD[i // 10 % len(GOOD)]
                r = exchange(args.port, body_request("/v1/translate", json.dumps({"text": [src], "beam_size": 1}).encode()), timeout=30)
                ok = r[0] == 200 and json.loads(r[1].split(b"\r\n\r\n", 1)[1])["results"][0]["text"] == want
                with lock:
                    if ok:
                        good_ok += 1
                    else:
                        good_bad += 1
                        failures.append(str(r[0]))
                continue
            r = exchange(args.port, hostile(i, rnd), vanish=(i % 7 == 0), slow=(i % 13 == 0))
            status = r if isinstance(r, str) else r[0]
            key = status if isinstance(status, str) else f"{status // 100}xx" if status >= 500 else str(status)
            with lock:
                seen[key] += 1

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alive = exchange(args.port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200
    print(f"{args.count} requests in {time.time() - t0:.1f} s; hostile answers: " +
          ", ".join(f"{k} {v}" for k, v in sorted(seen.items(), key=lambda kv: str(kv[0]))))
    print(f"good requests: {good_ok} correct, {good_bad} wrong or failed {failures[:5]}; server alive: {alive}")
    bad5xx = sum(v for k, v in seen.items() if k == "5xx")
    raise SystemExit(0 if alive and good_bad == 0 and bad5xx == 0 else 1)


if __name__ == "__main__":
    main()
