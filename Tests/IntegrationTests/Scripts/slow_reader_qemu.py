#!/usr/bin/env python3
"""Stands in for QEMU in `skerry boot --qemu`: prints the kernel's ready line,
then streams console output without pause while reading its stdin (the serial
console's input) only 16 bytes at a time. A host that blocks writing that
stdin stops draining this output, and both sides hang."""
import os
import select
import sys

out = sys.stdout
out.write("skerry: ready\n")
out.flush()
line = 0
while True:
    for _ in range(50):
        out.write("console line %d %s\n" % (line, "x" * 60))
        line += 1
    out.flush()
    if select.select([0], [], [], 0.005)[0]:
        if not os.read(0, 16):
            pass
