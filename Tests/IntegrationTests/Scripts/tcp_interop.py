"""Linux's TCP face to face with the appliance's, run inside the tap-mode
network namespace by TapNetworkTests. Prints one JSON object of results.

Phases: a clean 1 MiB echo; the same with 5% of TCP segments dropped each
way by nftables (tc netem is not available on every machine); a SYN flood
from spoofed sources, after which an already-established connection must
still echo."""
import json, os, random, socket, struct, subprocess, sys, threading, time

APPLIANCE = "10.0.1.15"
results = {}


def echo(size, timeout=120):
    data = os.urandom(size)
    s = socket.create_connection((APPLIANCE, 7), timeout=timeout)
    started = time.time()
    writer = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    writer.start()
    received = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        received += chunk
    writer.join()
    s.close()
    return {"intact": bytes(received) == data, "bytes": len(received), "seconds": round(time.time() - started, 3)}


def nft(*args):
    subprocess.run(["nft", *args], check=True)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_flood(count):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    destination = socket.inet_aton(APPLIANCE)
    for _ in range(count):
        source = socket.inet_aton("10.0.1.%d" % random.randint(100, 250))
        sport = random.randint(1024, 65535)
        tcp = struct.pack("!HHIIBBHHH", sport, 7, random.getrandbits(32), 0, 5 << 4, 0x02, 8192, 0, 0)
        pseudo = source + destination + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, 6, 0, source, destination)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        raw.sendto(ip + tcp, (APPLIANCE, 0))
    raw.close()


results["clean"] = echo(1 << 20)

nft("add", "table", "inet", "loss")
for hook in ("input", "output"):
    nft("add", "chain", "inet", "loss", hook, "{ type filter hook %s priority 0; }" % hook)
    nft("add", "rule", "inet", "loss", hook, "ip", "protocol", "tcp", "numgen", "random", "mod", "20", "0", "counter", "drop")
results["lossy"] = echo(1 << 20, timeout=300)
ruleset = subprocess.run(["nft", "list", "table", "inet", "loss"], capture_output=True, text=True).stdout
results["dropped"] = sum(int(part.split()[1]) for part in ruleset.split("counter")[1:])
nft("delete", "table", "inet", "loss")

established = socket.create_connection((APPLIANCE, 7), timeout=30)
syn_flood(3000)
message = os.urandom(64 * 1024)
established.sendall(message)
received = bytearray()
while len(received) < len(message):
    chunk = established.recv(65536)
    if not chunk:
        break
    received += chunk
established.close()
results["after_flood"] = {"intact": bytes(received) == message}
results["new_after_flood"] = echo(4096)

print(json.dumps(results))
