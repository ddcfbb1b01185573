#!/usr/bin/env python3
"""Known-credential scrape latency under a flood of wrong passwords.

Scrapes http://127.0.0.1:PORT/metrics with the right credentials (a new connection each time, as
a scraper after a restart would), first idle, then while CLIENTS clients send wrong passwords as
fast as they are answered (each on one kept-alive connection, reconnecting when closed). With
--distinct-addresses every flooding client connects from an address of its own (127.0.0.10 on),
as clients on many hosts would; without, all from 127.0.0.1. Each wrong password is a new one
(--same-wrong-password: always the same). Prints one JSON line.
"""
import argparse
import base64
import json
import multiprocessing
import socket
import statistics
import threading
import time


def header(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(authorization):
    return (f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n"
            "\r\n").encode()


def read_answer(sock):
    """Reads one answer; returns its status, or 0 when the connection ended first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return 0
        body += chunk
    return status


def scrape(port, authorization):
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request(authorization))
        status = read_answer(sock)
    return time.monotonic() - start, status


def flood(port, authorization, source, stop, counts, lock):
    """Sends wrong passwords from `source`; each a new one unless `authorization` is given (a
    server that remembers failures would answer a repeated one from memory)."""
    sent = 0
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30,
                                          source_address=(source, 0)) as sock:
                while not stop.is_set():
                    sent += 1
                    sock.sendall(request(authorization or header("prometheus", f"wrong-{source}-{sent}")))
                    status = read_answer(sock)
                    with lock:
                        counts[status] = counts.get(status, 0) + 1
                    if status == 0:
                        break
                    if status in (429, 503):
                        # As a client honouring Retry-After would not: ask again at once.
                        continue
        except OSError:
            with lock:
                counts["error"] = counts.get("error", 0) + 1
            time.sleep(0.01)


def run_flood(port, wrong, clients, distinct_addresses, stop, answers):
    """The flooding clients, one thread each, until `stop`; then puts the answers' counts."""
    halt = threading.Event()
    counts, lock = {}, threading.Lock()
    for client in range(clients):
        source = f"127.0.{(10 + client) // 256}.{(10 + client) % 256}" if distinct_addresses \
            else "127.0.0.1"
        threading.Thread(target=flood, args=(port, wrong, source, halt, counts, lock),
                         daemon=True).start()
    stop.wait()
    halt.set()
    with lock:
        answers.put(dict(counts))


def stats(samples):
    ms = sorted(s * 1000 for s in samples)
    return {"median_ms": round(statistics.median(ms), 2), "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 2),
            "max_ms": round(ms[-1], 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="prometheus")
    parser.add_argument("--password", default="example-password")
    parser.add_argument("--clients", type=int, default=120)
    parser.add_argument("--distinct-addresses", action="store_true")
    parser.add_argument("--scrapes", type=int, default=60)
    parser.add_argument("--every", type=float, default=0.25)
    parser.add_argument("--same-wrong-password", action="store_true",
                        help="every flooding request sends the same wrong password")
    args = parser.parse_args()
    known = header(args.user, args.password)
    wrong = header(args.user, "not-" + args.password) if args.same_wrong_password else None

    # Let in once, then idle figures.
    latency, status = scrape(args.port, known)
    assert status == 200, f"the known credentials got {status}"
    idle = []
    for _ in range(args.scrapes):
        latency, status = scrape(args.port, known)
        assert status == 200, status
        idle.append(latency)
        time.sleep(args.every / 5)

    # The flood runs in a process of its own: its threads never hold up the measuring one.
    stop = multiprocessing.Event()
    answers = multiprocessing.Queue()
    flooder = multiprocessing.Process(target=run_flood,
                                      args=(args.port, wrong, args.clients,
                                            args.distinct_addresses, stop, answers))
    flooder.start()
    time.sleep(3)  # the flood under way: every check thread busy, queues full
    flooded, failed = [], 0
    for _ in range(args.scrapes):
        latency, status = scrape(args.port, known)
        if status != 200:
            failed += 1
        flooded.append(latency)
        time.sleep(args.every)
    stop.set()
    counts = answers.get()
    flooder.join()
    print(json.dumps({"clients": args.clients, "distinct_addresses": args.distinct_addresses,
                      "same_wrong_password": args.same_wrong_password,
                      "idle": stats(idle), "flood": stats(flooded), "known_failed": failed,
                      "flood_answers": {str(k): v for k, v in sorted(counts.items(), key=str)}}))


if __name__ == "__main__":
    main()
