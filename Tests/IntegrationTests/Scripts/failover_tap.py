"""A backend that goes silent, then one that answers ICMP port unreachable,
under one client: the web sample in tap mode, run inside the namespace
`skerry boot --network tap` made (ip netns exec NS python3 ...).

Starts three HTTP backends on 10.0.3.2:8081-8083 that name themselves in
X-Backend, waits until all three serve through 10.0.2.15:80, then for each
scenario named on the command line (black-hole, port-unreachable) adds an
nftables rule in this namespace for web2's port, sends GETs one after
another (a new connection each) for a while, removes the rule and waits
until web2 serves again. Prints one JSON object with, per scenario, the
requests sent and failed, the latency before the rule (median) and the
slowest request after it. Every address is the appliance's or the
namespace's own; the rules vanish with the namespace.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

SERVICE = ("10.0.2.15", 80)
WEB2 = 8082
RULES = {
    # SYNs to web2 dropped: nothing answers them.
    "black-hole": "tcp dport %d tcp flags & (syn | ack) == syn drop" % WEB2,
    # SYNs to web2 answered with ICMP port unreachable (quoting the SYN).
    "port-unreachable": "tcp dport %d reject with icmp type port-unreachable" % WEB2,
}


def backend(name, port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("10.0.3.2", port))
    listener.listen(512)
    body = (name + "\n").encode()
    response = (b"HTTP/1.1 200 OK\r\nX-Backend: " + name.encode() + b"\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    def serve(connection):
        with connection:
            connection.settimeout(5)
            request = b""
            try:
                while b"\r\n\r\n" not in request and len(request) < 16384:
                    data = connection.recv(4096)
                    if not data:
                        return
                    request += data
                connection.sendall(response)
            except OSError:
                pass

    def accept():
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def get(timeout=5):
    """(backend name or None, seconds) for one GET on a new connection."""
    started = time.time()
    try:
        with socket.create_connection(SERVICE, timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(b"GET / HTTP/1.0\r\nHost: 10.0.2.15\r\n\r\n")
            reply = b""
            while True:
                data = connection.recv(4096)
                if not data:
                    break
                reply += data
    except OSError:
        return None, time.time() - started
    if not reply.startswith(b"HTTP/1.1 200 "):
        return None, time.time() - started
    for line in reply.split(b"\r\n"):
        if line.startswith(b"X-Backend: "):
            return line[len(b"X-Backend: "):].decode(), time.time() - started
    return None, time.time() - started


def nft(*arguments):
    subprocess.run(["nft"] + list(arguments), check=True)


def until_served_by(name, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if get()[0] == name:
            return True
        time.sleep(0.1)
    return False


def scenario(rule, seconds):
    baseline = sorted(get()[1] for _ in range(9))
    nft("add", "table", "ip", "failover")
    nft("add", "chain", "ip", "failover", "input", "{ type filter hook input priority 0 ; }")
    nft("add", "rule", "ip", "failover", "input", rule)
    sent, failed, slowest, served = 0, 0, 0.0, {}
    started = time.time()
    while time.time() - started < seconds:
        name, latency = get()
        sent += 1
        slowest = max(slowest, latency)
        if name is None:
            failed += 1
        else:
            served[name] = served.get(name, 0) + 1
    nft("delete", "table", "ip", "failover")
    return {"sent": sent, "failed": failed, "median_before": round(baseline[len(baseline) // 2], 3),
            "slowest_after": round(slowest, 3), "served": served, "back": until_served_by("web2", 30)}


def main():
    for number, port in ((1, 8081), (2, 8082), (3, 8083)):
        backend("web%d" % number, port)
    results = {}
    if not all(until_served_by(name, 60) for name in ("web1", "web2", "web3")):
        results["error"] = "the three backends never all served"
    else:
        seconds = float(next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("seconds=")), "8"))
        for name in [argument for argument in sys.argv[1:] if "=" not in argument]:
            try:
                results[name] = scenario(RULES[name], seconds)
            except Exception as error:  # reported, not hidden: the Swift test fails on it
                results[name] = {"error": repr(error)}
    print(json.dumps(results))
    sys.stdout.flush()
    os._exit(0)


main()
