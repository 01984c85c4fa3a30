#!/usr/bin/env python3
"""Stands in for QEMU in `skerry boot --qemu … --serial tcp`: serves the
serial port on the -chardev socket's port, prints a boot line to the first
client and drops it, then prints the kernel's ready line to the next and
tells it what it typed."""
import re
import socket
import sys

spec = next(arg for arg in sys.argv if arg.startswith("socket,id=console"))
port = int(re.search(r"port=(\d+)", spec).group(1))
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(1)

first, _ = server.accept()
first.sendall(b"booting\r\n")
first.close()

second, _ = server.accept()
second.sendall(b"after the drop\r\nskerry: ready\r\nskerry> ")
typed = b""
while b"\n" not in typed:
    chunk = second.recv(1024)
    if not chunk:
        sys.exit(1)
    typed += chunk
second.sendall(b"typed: " + typed.split(b"\n")[0] + b"\r\n")
second.recv(1)
