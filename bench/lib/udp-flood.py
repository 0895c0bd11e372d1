#!/usr/bin/env python3
# A bounded UDP burst, the benches' packet generator. Reads its job as JSON on stdin:
#   {"host": "192.0.2.1", "ports": [...], "count": 200000, "maxSeconds": 10, "payloadBytes": 16,
#    "rate": 0, "bind": null, "payload": "zeros"}
# Sends ports[i % len(ports)] for i = 0, 1, ... until `count` datagrams were sent or
# `maxSeconds` passed, whichever comes first (it stops by itself). Optional:
#   rate     packets per second (paced in 1 ms steps); 0 or absent: as fast as one core can;
#   bind     source address to send from (e.g. a second address of the sender's interface);
#   payload  "zeros" (default) or "base64": random base64 text of payloadBytes, a different
#            one per packet (from a pool of up to 65,536), shaped like an fwknop SPA packet.
# SIGTERM stops it early, still printing its figures. Prints one JSON line:
#   {"sent", "errors", "seconds", "utime", "stime"}: CPU times of this process during the
# loop only. On veth the receiver's netfilter work runs in the sender's softirq context, so
# it is charged to this process's system time.
import base64
import json
import os
import resource
import signal
import socket
import sys
import time

job = json.load(sys.stdin)
host = job["host"]
ports = [int(p) for p in job["ports"]]
count = int(job["count"])
max_seconds = float(job["maxSeconds"])
payload_bytes = int(job.get("payloadBytes", 16))
rate = float(job.get("rate") or 0)
bind = job.get("bind")
if not ports or count <= 0 or not 0 < max_seconds <= 60 or rate < 0:
    sys.exit("udp-flood: need ports, count > 0, 0 < maxSeconds <= 60 and rate >= 0")

if job.get("payload", "zeros") == "base64":
    raw = (payload_bytes * 3 + 3) // 4
    pool = [base64.b64encode(os.urandom(raw)).rstrip(b"=")[:payload_bytes] for _ in range(min(count, 65536))]
else:
    pool = [b"\x00" * payload_bytes]
npool = len(pool)

family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
if bind:
    sock.bind((bind, 0))
dests = [(host, p) for p in ports]
n = len(dests)
sendto = sock.sendto

stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

sent = 0
errors = 0
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
deadline = t0 + max_seconds
while sent < count:
    if rate > 0:
        now = time.perf_counter()
        due = min(count, int((now - t0) * rate) + 1)
        if due <= sent:
            time.sleep(0.001)
            if stop or time.perf_counter() >= deadline:
                break
            continue
        end = due
    else:
        end = min(sent + 4096, count)
    for i in range(sent, end):
        try:
            sendto(pool[i % npool], dests[i % n])
        except OSError:
            errors += 1
    sent = end
    if stop or time.perf_counter() >= deadline:
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
