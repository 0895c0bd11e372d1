#!/usr/bin/env python3
"""Attacker traffic for the adversarial e2e suite, run inside the eve namespace.

Reads one JSON job on stdin and prints one JSON result line on stdout. Every mode is
bounded in count AND in seconds and stops by itself. Stdlib only.

modes:
  flood    — Ethernet frames on an AF_PACKET socket: UDP datagrams to `ports` (round
             robin) from FORGED source addresses: IPv4 from 198.51.100.0/24 and
             203.0.113.0/24, IPv6 random in 2001:db8:ff00::/40 (documentation ranges
             only). {iface, srcMac, dstMac, family, dst, ports, count, seconds, pps?}
  random   — ordinary UDP socket from our own address: `knocks` knocks of `length`
             random ports in [min, max]. {dst, family, min, max, length, knocks, seconds}
  capture  — AF_PACKET sniffer: the destination ports of UDP datagrams to `dst` with a
             port in [min, max], in arrival order, until `want` were seen or `seconds`
             passed. {iface, dst, min, max, want, seconds}
"""
import ipaddress
import json
import os
import random
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


STOP = False


def _stop(_signum, _frame):
    # SIGTERM ends a flood early but still prints what was sent.
    global STOP
    STOP = True


signal.signal(signal.SIGTERM, _stop)


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(':'))


def csum_add(total, data):
    if len(data) % 2:
        data += b'\0'
    for (w,) in struct.iter_unpack('!H', data):
        total += w
    return total


def csum_fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


FORGED_V4 = [ipaddress.IPv4Address('198.51.100.0') + i for i in range(256)] + [ipaddress.IPv4Address('203.0.113.0') + i for i in range(256)]


def flood(job):
    iface, family = job['iface'], job['family']
    count, seconds = int(job['count']), float(job['seconds'])
    pps = float(job.get('pps') or 0)
    ports = [int(p) for p in job['ports']]
    payload = bytes.fromhex(job.get('payloadHex', '')) or b'\x00' * 8
    eth_v4 = mac_bytes(job['dstMac']) + mac_bytes(job['srcMac']) + b'\x08\x00'
    eth_v6 = mac_bytes(job['dstMac']) + mac_bytes(job['srcMac']) + b'\x86\xdd'
    dst = ipaddress.ip_address(job['dst']).packed
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    udp_len = 8 + len(payload)
    rng = random.Random(job.get('seed', 1))
    # Per port: the checksum over everything but the source address, computed once.
    if family == 4:
        base = {}
        for p in ports:
            base[p] = csum_add(0, struct.pack('!BBHHHBBH', 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0) + dst)
        sources = [a.packed for a in FORGED_V4]
    else:
        base = {}
        for p in ports:
            pseudo = dst + struct.pack('!I3xB', udp_len, 17) + struct.pack('!HHHH', 40000, p, udp_len, 0) + payload
            base[p] = csum_add(0, pseudo)
        prefix = ipaddress.IPv6Address('2001:db8:ff00::').packed[:5]
    sent = 0
    distinct = set()
    started = time.monotonic()
    deadline = started + seconds
    while sent < count and not STOP:
        now = time.monotonic()
        if now >= deadline:
            break
        if pps > 0 and sent > (now - started) * pps:
            time.sleep(0.001)
            continue
        for _ in range(min(256, count - sent)):
            p = ports[sent % len(ports)]
            if family == 4:
                src = sources[sent % len(sources)]
                ip = struct.pack('!BBHHHBBH', 0x45, 0, 20 + udp_len, sent & 0xFFFF, 0x4000, 64, 17, 0) + src + dst
                c = csum_fold(csum_add(0, ip))
                ip = ip[:10] + struct.pack('!H', c) + ip[12:]
                frame = eth_v4 + ip + struct.pack('!HHHH', 40000, p, udp_len, 0) + payload
            else:
                src = prefix + rng.getrandbits(88).to_bytes(11, 'big')
                c = csum_fold(csum_add(base[p], src)) or 0xFFFF
                frame = eth_v6 + struct.pack('!IHBB', 0x60000000, udp_len, 17, 64) + src + dst + struct.pack('!HHHH', 40000, p, udp_len, c) + payload
            if len(distinct) < 1_000_000:
                distinct.add(src)
            try:
                s.send(frame)
            except OSError as e:  # ENOBUFS under pressure: count it as not sent and go on
                if e.errno not in (105, 11):
                    raise
                continue
            sent += 1
    took = time.monotonic() - started
    return {'sent': sent, 'seconds': round(took, 3), 'pps': round(sent / took) if took > 0 else 0, 'distinctSources': len(distinct)}


def random_knocks(job):
    family = int(job['family'])
    s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_DGRAM)
    lo, hi, length = int(job['min']), int(job['max']), int(job['length'])
    knocks, seconds = int(job['knocks']), float(job['seconds'])
    rng = random.Random(job.get('seed', 2))
    payload = b'\x00' * 8
    done = 0
    sent = 0
    started = time.monotonic()
    deadline = started + seconds
    while done < knocks and time.monotonic() < deadline and not STOP:
        for _ in range(min(500, knocks - done)):
            for _ in range(length):
                try:
                    s.sendto(payload, (job['dst'], rng.randint(lo, hi)))
                    sent += 1
                except OSError as e:
                    if e.errno not in (105, 11):
                        raise
            done += 1
    took = time.monotonic() - started
    return {'knocks': done, 'sent': sent, 'seconds': round(took, 3), 'pps': round(sent / took) if took > 0 else 0}


def capture(job):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((job['iface'], 0))
    dst = ipaddress.ip_address(job['dst'])
    lo, hi, want = int(job['min']), int(job['max']), int(job['want'])
    deadline = time.monotonic() + float(job['seconds'])
    ports = []
    print(json.dumps({'event': 'ready'}), flush=True)
    while len(ports) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            frame = s.recv(65535)
        except socket.timeout:
            break
        ethertype = struct.unpack('!H', frame[12:14])[0]
        if ethertype == 0x0800 and dst.version == 4:
            ihl = (frame[14] & 0x0F) * 4
            if frame[23] != 17 or frame[30:34] != dst.packed:
                continue
            dport = struct.unpack('!H', frame[14 + ihl + 2:14 + ihl + 4])[0]
        elif ethertype == 0x86DD and dst.version == 6:
            if frame[20] != 17 or frame[38:54] != dst.packed:
                continue
            dport = struct.unpack('!H', frame[56:58])[0]
        else:
            continue
        if lo <= dport <= hi:
            ports.append(dport)
    return {'event': 'captured', 'ports': ports}


def main():
    job = json.loads(sys.stdin.readline())
    mode = job['mode']
    result = {'flood': flood, 'random': random_knocks, 'capture': capture}[mode](job)
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        os._exit(130)
