#!/usr/bin/env python3
"""otpknockd's audit reader: binds NFLOG group GROUP over netlink and prints one
JSON line per logged packet: {"family", "mark", "saddr", "daddr", "dport", "ulen", "prefix", "t"}
("mark" only when the packet has one; "dport" only for TCP and UDP; "ulen", the
UDP payload's length from its header, only for UDP: no payload byte is read).

The kernel hands NFLOG messages only to an AF_NETLINK socket, which Node lacks;
Python's standard library has one. Nothing but netlink attributes is read, no
kernel log text is parsed. Run by otpknockd as: python3 -u nflog-reader.py GROUP
(no secret in it or its argv). Output: {"ready": GROUP} once bound, or
{"error": ..., "errno": ...} and exit 3 when the group cannot be bound.
"""
import ctypes
import json
import os
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
# NFULA_* attributes of a packet message
NFULA_MARK, NFULA_PAYLOAD, NFULA_PREFIX = 2, 9, 10
# NFULA_CFG_* attributes of a config message
NFULA_CFG_CMD, NFULA_CFG_MODE, NFULA_CFG_TIMEOUT, NFULA_CFG_QTHRESH = 1, 2, 3, 4
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def config_message(group, seq, attrs):
    """An NFULNL_MSG_CONFIG request for `group`."""
    body = struct.pack('=BBH', 0, 0, socket.htons(group)) + b''.join(attrs)
    header = struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq, 0)
    return header + body


def source_address(family, packet):
    """The source address of the logged packet's network header, or None."""
    if family == socket.AF_INET and len(packet) >= 20:
        return socket.inet_ntop(socket.AF_INET, packet[12:16])
    if family == socket.AF_INET6 and len(packet) >= 40:
        return socket.inet_ntop(socket.AF_INET6, packet[8:24])
    return None


def destination(family, packet):
    """The destination address, the TCP/UDP port and (UDP) the payload length of the
    logged packet, or None.

    For a forwarded connection logged on the forward hook this is where it goes
    after DNAT: the backend."""
    if family == socket.AF_INET and len(packet) >= 20:
        header, proto, daddr = (packet[0] & 0x0f) * 4, packet[9], socket.inet_ntop(socket.AF_INET, packet[16:20])
    elif family == socket.AF_INET6 and len(packet) >= 40:
        header, proto, daddr = 40, packet[6], socket.inet_ntop(socket.AF_INET6, packet[24:40])
    else:
        return None
    if proto not in (6, 17) or len(packet) < header + 4:
        return daddr, None, None
    ulen = None
    if proto == 17 and len(packet) >= header + 6:
        ulen = max(0, struct.unpack_from('>H', packet, header + 4)[0] - 8)
    return daddr, struct.unpack_from('>H', packet, header + 2)[0], ulen


def packet_events(data, now):
    """The logged packets in one netlink read, as dicts (pure: bytes in, events out)."""
    events = []
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from('=IH', data, off)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
            family = data[off + 16]
            event = {'family': 4 if family == socket.AF_INET else 6 if family == socket.AF_INET6 else family, 't': now}
            a = off + 20
            while a + 4 <= off + length:
                alen, akind = struct.unpack_from('=HH', data, a)
                if alen < 4:
                    break
                value = data[a + 4:a + alen]
                akind &= 0x3fff
                if akind == NFULA_MARK:
                    event['mark'] = struct.unpack('>I', value)[0]
                elif akind == NFULA_PREFIX:
                    event['prefix'] = value.rstrip(b'\0').decode('ascii', 'replace')
                elif akind == NFULA_PAYLOAD:
                    saddr = source_address(family, value)
                    if saddr is not None:
                        event['saddr'] = saddr
                    to = destination(family, value)
                    if to is not None:
                        event['daddr'] = to[0]
                        if to[1] is not None:
                            event['dport'] = to[1]
                        if to[2] is not None:
                            event['ulen'] = to[2]
                a += (alen + 3) & ~3
            events.append(event)
        off += (length + 3) & ~3
    return events


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def bind(sock, group):
    """Binds the group: copy packets (128 bytes), deliver each at once. Exits 3 when refused."""
    steps = [
        [attr(NFULA_CFG_CMD, struct.pack('=B', NFULNL_CFG_CMD_BIND))],
        [attr(NFULA_CFG_MODE, struct.pack('>IBB', 128, NFULNL_COPY_PACKET, 0))],
        [attr(NFULA_CFG_QTHRESH, struct.pack('>I', 1))],
        [attr(NFULA_CFG_TIMEOUT, struct.pack('>I', 0))],
    ]
    for seq, attrs in enumerate(steps, start=1):
        sock.send(config_message(group, seq, attrs))
        reply = sock.recv(65536)
        kind = struct.unpack_from('=H', reply, 4)[0]
        if kind == NLMSG_ERROR:
            err = struct.unpack_from('=i', reply, 16)[0]
            if err != 0:
                emit({'error': os.strerror(-err), 'errno': -err})
                sys.exit(3)


def main():
    group = int(sys.argv[1])
    # Die with the daemon (PR_SET_PDEATHSIG), even when it is SIGKILLed: an orphan would
    # keep the NFLOG group bound and the restarted daemon could not audit.
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except Exception:
        pass
    if os.getppid() == 1:
        sys.exit(0)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, 0))
    bind(sock, group)
    emit({'ready': group})
    while True:
        for event in packet_events(sock.recv(1 << 16), time.time()):
            emit(event)


if __name__ == '__main__':
    main()
