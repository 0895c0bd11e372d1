#!/usr/bin/env python3
# A bounded burst of UDP junk, as fast as one core can send it: the bench's packet
# generator. Reads its job as JSON on stdin:
#   {"host": "192.0.2.1", "ports": [...], "count": 200000, "maxSeconds": 10, "payloadBytes": 16}
# Sends ports[i % len(ports)] for i = 0, 1, ... until `count` datagrams were sent or
# `maxSeconds` passed, whichever comes first (it stops by itself). Prints one JSON line:
#   {"sent", "errors", "seconds", "utime", "stime"}: CPU times of this process during the
# loop only. On veth the receiver's netfilter work runs in the sender's softirq context, so
# it is charged to this process's system time.
import json
import resource
import socket
import sys
import time

job = json.load(sys.stdin)
host = job["host"]
ports = [int(p) for p in job["ports"]]
count = int(job["count"])
max_seconds = float(job["maxSeconds"])
payload = b"\x00" * int(job.get("payloadBytes", 16))
if not ports or count <= 0 or not 0 < max_seconds <= 60:
    sys.exit("udp-flood: need ports, count > 0 and 0 < maxSeconds <= 60")

family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
dests = [(host, p) for p in ports]
n = len(dests)
sendto = sock.sendto

sent = 0
errors = 0
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
deadline = t0 + max_seconds
while sent < count:
    end = min(sent + 4096, count)
    for i in range(sent, end):
        try:
            sendto(payload, dests[i % n])
        except OSError:
            errors += 1
    sent = end
    if time.perf_counter() >= deadline:
        break
t1 = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_SELF)
sock.close()
print(json.dumps({
    "sent": sent,
    "errors": errors,
    "seconds": t1 - t0,
    "utime": r1.ru_utime - r0.ru_utime,
    "stime": r1.ru_stime - r0.ru_stime,
}))
