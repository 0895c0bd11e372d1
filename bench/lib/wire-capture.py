#!/usr/bin/env python3
# A tiny packet capture for wire latencies: an AF_PACKET socket on one interface (run it
# inside the namespace that owns the interface) with kernel receive timestamps
# (SO_TIMESTAMPNS, CLOCK_REALTIME), both directions. argv: one JSON object
#   {"ifname": "okb…", "client": "192.0.2.2", "maxSeconds": 300}
# Prints {"event":"ready"} once capturing, then one JSON line per IPv4 packet that matters:
#   {"t": ns, "kind": "udp" | "syn" | "synack", "src", "dst", "sport", "dport"}
# udp: a UDP datagram from `client`; syn: a TCP SYN from `client`; synack: a TCP SYN-ACK to
# `client`. A kernel filter passes only frames from or to `client`. Stops by itself after
# maxSeconds, or when stdin closes.
import ctypes
import json
import os
import select
import socket
import struct
import sys
import time

job = json.loads(sys.argv[1])
ifname = job["ifname"]
client = socket.inet_aton(job["client"])
max_seconds = float(job.get("maxSeconds", 300))
if not 0 < max_seconds <= 900:
    sys.exit("wire-capture: 0 < maxSeconds <= 900")

SO_TIMESTAMPNS = 35
ETH_P_ALL = 0x0003
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
# Only frames from or to `client` reach this socket (classic BPF): a junk flood from another
# address costs the capture nothing.
client_k = struct.unpack("!I", client)[0]
program = [
    (0x28, 0, 0, 12),  # ldh [12]: ethertype
    (0x15, 0, 5, 0x0800),  # IPv4? else drop
    (0x20, 0, 0, 26),  # ld [26]: source address
    (0x15, 2, 0, client_k),  # client? keep
    (0x20, 0, 0, 30),  # ld [30]: destination address
    (0x15, 0, 1, client_k),  # client? keep, else drop
    (0x06, 0, 0, 0x40000),  # keep
    (0x06, 0, 0, 0),  # drop
]
filter_buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in program))
SO_ATTACH_FILTER = 26
sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(filter_buf)))
sock.bind((ifname, 0))
sock.setblocking(False)
out = sys.stdout
out.write('{"event":"ready"}\n')
out.flush()

deadline = time.monotonic() + max_seconds
poller = select.poll()
poller.register(sock, select.POLLIN)
poller.register(sys.stdin, select.POLLIN | select.POLLHUP)
cmsg_space = socket.CMSG_SPACE(16)


def emit(t, kind, src, dst, sport, dport):
    out.write(json.dumps({"t": t, "kind": kind, "src": socket.inet_ntoa(src), "dst": socket.inet_ntoa(dst), "sport": sport, "dport": dport}) + "\n")


while time.monotonic() < deadline:
    events = poller.poll(200)
    if any(fd != sock.fileno() for fd, _ in events):
        if not os.read(sys.stdin.fileno(), 4096):
            break  # stdin closed: stop
    while True:
        try:
            data, anc, _flags, _addr = sock.recvmsg(256, cmsg_space)
        except BlockingIOError:
            break
        if len(data) < 34 or data[12:14] != b"\x08\x00":
            continue  # not IPv4
        t = None
        for level, ctype, cdata in anc:
            if level == socket.SOL_SOCKET and ctype == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", cdata[:16])
                t = sec * 1_000_000_000 + nsec
        if t is None:
            t = time.time_ns()
        ip = data[14:]
        ihl = (ip[0] & 0x0F) * 4
        proto = ip[9]
        src, dst = ip[12:16], ip[16:20]
        l4 = ip[ihl:]
        if len(l4) < (14 if proto == 6 else 8):
            continue
        sport, dport = struct.unpack("!HH", l4[:4])
        if proto == 17 and src == client:
            emit(t, "udp", src, dst, sport, dport)
        elif proto == 6:
            flags = l4[13]
            if flags & 0x12 == 0x02 and src == client:
                emit(t, "syn", src, dst, sport, dport)
            elif flags & 0x12 == 0x12 and dst == client:
                emit(t, "synack", src, dst, sport, dport)
    out.flush()
