#!/usr/bin/env python3
# Times one knock the way a user runs it: start the knock client, wait for it to exit,
# then connect to the protected TCP service. Run it inside the client's namespace. Reads
# its job as JSON on stdin:
#   {"argv": [...] | [], "env": {...}, "log": "/tmp/…", "host": "192.0.2.1", "port": 22,
#    "intervalMs": 2, "timeoutS": 3, "connect": true}
# After the client exits (whatever its exit code), a new non-blocking connect() starts every
# intervalMs (earlier attempts stay in flight: a SYN the firewall dropped is only retried
# after a second) until one is accepted or timeoutS has passed; then all are closed. The
# client's stdout/stderr go to `log`. "connect": false only times the client. Prints one JSON line:
#   {"startNs": realtime ns at the client's start, "endNs", "exit": client exit code,
#    "clientMs": start → client exit, "connectMs": start → accepted (null: never),
#    "attempts", "maxRssKiB": the client's peak RSS, "cpuMs": the client's CPU time}
import errno
import json
import os
import select
import socket
import sys
import time

job = json.load(sys.stdin)
argv = job.get("argv") or []
host = job["host"]
port = int(job["port"])
interval = float(job.get("intervalMs", 2)) / 1000
timeout = float(job.get("timeoutS", 3))
if not 0 < timeout <= 30 or interval <= 0:
    sys.exit("timed-client: need 0 < timeoutS <= 30 and intervalMs > 0")

start_ns = time.time_ns()
t0 = time.perf_counter()
exit_code = None
max_rss = None
cpu_ms = None
if argv:
    log = job.get("log") or os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    pid = os.posix_spawn(argv[0], argv, job.get("env") or dict(os.environ), file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    max_rss = usage.ru_maxrss
    cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
client_ms = (time.perf_counter() - t0) * 1000

family = socket.AF_INET6 if ":" in host else socket.AF_INET
deadline = time.perf_counter() + timeout
pending = {}
connect_ms = None
attempts = 0
poller = select.poll()
next_at = time.perf_counter()
try:
    while job.get("connect", True) and connect_ms is None and time.perf_counter() < deadline:
        now = time.perf_counter()
        if now >= next_at and len(pending) < 512:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setblocking(False)
            attempts += 1
            err = s.connect_ex((host, port))
            if err == 0:
                connect_ms = (time.perf_counter() - t0) * 1000
                s.close()
                break
            if err in (errno.EINPROGRESS, errno.EAGAIN):
                pending[s.fileno()] = s
                poller.register(s, select.POLLOUT)
            else:
                s.close()  # refused or unreachable: try again at the next tick
            next_at = now + interval
        wait_ms = max(0, int((next_at - time.perf_counter()) * 1000))
        for fd, _ev in poller.poll(min(wait_ms, 50) if wait_ms > 0 else 0):
            s = pending.pop(fd)
            poller.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and connect_ms is None:
                connect_ms = (time.perf_counter() - t0) * 1000
            s.close()
        if wait_ms > 0 and not pending:
            time.sleep(min(wait_ms, 50) / 1000)
finally:
    for s in pending.values():
        s.close()

print(json.dumps({
    "startNs": start_ns,
    "endNs": time.time_ns(),
    "exit": exit_code,
    "clientMs": client_ms,
    "connectMs": connect_ms,
    "attempts": attempts,
    "maxRssKiB": max_rss,
    "cpuMs": cpu_ms,
}))
