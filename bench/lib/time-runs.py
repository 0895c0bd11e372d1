#!/usr/bin/env python3
# Times commands the way a shell starts them: fork, exec, wait4 — wall time, the child's
# CPU time and peak RSS from its rusage. Run it inside the namespace the commands should
# run in. Reads its job as JSON on stdin:
#   {"runs": N, "cases": [{"name": "...", "argv": ["/usr/bin/node", ...]}, ...], "env": {...}}
#   The commands get exactly "env" (not this process's environment), so that the
#   caller decides: e.g. NODE_EXTRA_CA_CERTS alone adds ~40 ms to every Node start.
# Runs every case N times, interleaved (round r starts at case r mod len(cases), so slow
# drift of the machine spreads over all cases), stdout to /dev/null, stderr kept (last
# 2 KiB). Prints one JSON line per run:
#   {"case", "run", "startNs": realtime ns at fork, "endNs", "wallMs", "cpuMs", "maxRssKiB",
#    "exit": exit code (or -signal), "stderr"}
# Bounded: at most 1000 runs in all, each killed after 30 s.
import json
import os
import signal
import sys
import time

job = json.load(sys.stdin)
runs = int(job["runs"])
cases = job["cases"]
env = dict(job.get("env", {}))
if not 1 <= runs * len(cases) <= 1000:
    sys.exit("time-runs: 1 to 1000 runs in all")
LIMIT_S = 30
ERR = "/tmp/otpknock-time-runs-%d.err" % os.getpid()


def timeout(_sig, _frame):
    os.kill(pid, signal.SIGKILL)


signal.signal(signal.SIGALRM, timeout)
try:
    for r in range(runs):
        for k in range(len(cases)):
            case = cases[(k + r) % len(cases)]
            errfd = os.open(ERR, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            start_rt = time.time_ns()
            t0 = time.monotonic_ns()
            pid = os.fork()
            if pid == 0:
                null = os.open("/dev/null", os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.dup2(errfd, 2)
                try:
                    os.execve(case["argv"][0], case["argv"], env)
                finally:
                    os._exit(127)
            signal.alarm(LIMIT_S)
            _, status, usage = os.wait4(pid, 0)
            wall = (time.monotonic_ns() - t0) / 1e6
            end_rt = time.time_ns()
            signal.alarm(0)
            os.lseek(errfd, 0, os.SEEK_SET)
            err = os.read(errfd, 1 << 20)[-2048:]
            os.close(errfd)
            print(json.dumps({
                "case": case["name"], "run": r, "startNs": start_rt, "endNs": end_rt, "wallMs": wall,
                "cpuMs": (usage.ru_utime + usage.ru_stime) * 1000, "maxRssKiB": usage.ru_maxrss,
                "exit": os.waitstatus_to_exitcode(status), "stderr": err.decode("utf8", "replace"),
            }), flush=True)
finally:
    if os.path.exists(ERR):
        os.unlink(ERR)
