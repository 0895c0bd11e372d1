// The audit reader's Python: it compiles, and its pure part turns netlink bytes
// into the events otpknockd reads (parseReaderLine). The live netlink path runs
// end to end (test/team.e2e.test.ts, test/one-time-use.e2e.test.ts).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { READER_PATH, parseReaderLine } from './nflog.js';

// PYTHONDONTWRITEBYTECODE: no __pycache__ beside the source.
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
const python = (code: string): string =>
  execFileSync(
    'python3',
    [
      '-c',
      `import importlib.util, sys\nspec = importlib.util.spec_from_file_location('reader', sys.argv[1])\nr = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(r)\n${code}`,
      READER_PATH,
    ],
    { encoding: 'utf8', env },
  );

/**
 * Runs \`code\` with packet(family, mark or None, prefix, payload) that builds an NFLOG packet
 * message; it sets \`data\`, whose events the reader prints as JSON lines: their packets, as
 * otpknockd reads them.
 */
const loggedPackets = (code: string) =>
  python(`
import json, socket, struct
def packet(family, mark, prefix, payload):
    attrs = (b'' if mark is None else r.attr(r.NFULA_MARK, struct.pack('>I', mark))) + r.attr(r.NFULA_PREFIX, prefix + b'\\0') + r.attr(r.NFULA_PAYLOAD, payload)
    body = struct.pack('=BBH', family, 0, 0) + attrs
    return struct.pack('=IHHII', 16 + len(body), (r.NFNL_SUBSYS_ULOG << 8) | r.NFULNL_MSG_PACKET, 0, 0, 0) + body
${code}
for e in r.packet_events(data, 1700000000.5): print(json.dumps(e))
`)
    .trim()
    .split('\n')
    .map((l) => parseReaderLine(l)?.packet);

describe('nflog-reader.py', () => {
  it('compiles', () => {
    expect(() =>
      execFileSync(
        'python3',
        ['-c', 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")', READER_PATH],
        { stdio: 'pipe', env },
      ),
    ).not.toThrow();
  });

  it('turns NFLOG packet messages into events: family, mark, prefix, source address (IPv4 and IPv6); skips other messages', () => {
    const packets = loggedPackets(`
v4 = b'\\x45' + b'\\0' * 11 + socket.inet_pton(socket.AF_INET, '192.0.2.7') + socket.inet_pton(socket.AF_INET, '192.0.2.1')
v6 = b'\\x60' + b'\\0' * 7 + socket.inet_pton(socket.AF_INET6, '2001:db8::7') + socket.inet_pton(socket.AF_INET6, '2001:db8::1')
other = struct.pack('=IHHII', 20, 0x0403, 0, 0, 0) + b'\\0' * 4
data = packet(socket.AF_INET, 0x80400001, b'otpknock open', v4) + other + packet(socket.AF_INET6, 0xc0000002, b'otpknock replay', v6)
`);
    expect(packets).toEqual([
      {
        family: 4,
        mark: 0x80400001,
        saddr: '192.0.2.7',
        daddr: '192.0.2.1',
        prefix: 'otpknock open',
        receivedMs: 1_700_000_000_500,
      },
      {
        family: 6,
        mark: 0xc0000002,
        saddr: '2001:db8::7',
        daddr: '2001:db8::1',
        prefix: 'otpknock replay',
        receivedMs: 1_700_000_000_500,
      },
    ]);
  });

  it('reads where a forwarded TCP packet goes (its destination after DNAT), with or without a mark', () => {
    const packets = loggedPackets(`
tcp = struct.pack('>HH', 40000, 8080) + b'\\0' * 16
v4 = b'\\x45' + b'\\0' * 8 + b'\\x06' + b'\\0' * 2 + socket.inet_pton(socket.AF_INET, '192.0.2.2') + socket.inet_pton(socket.AF_INET, '198.51.100.2') + tcp
v6 = b'\\x60' + b'\\0' * 5 + b'\\x06' + b'\\0' + socket.inet_pton(socket.AF_INET6, '2001:db8:1::2') + socket.inet_pton(socket.AF_INET6, '2001:db8:2::2') + tcp
data = packet(socket.AF_INET, None, b'otpknock forward nas', v4) + packet(socket.AF_INET6, None, b'otpknock forward nas', v6)
`);
    expect(packets).toEqual([
      {
        family: 4,
        mark: 0,
        saddr: '192.0.2.2',
        daddr: '198.51.100.2',
        dport: 8080,
        prefix: 'otpknock forward nas',
        receivedMs: 1_700_000_000_500,
      },
      {
        family: 6,
        mark: 0,
        saddr: '2001:db8:1::2',
        daddr: '2001:db8:2::2',
        dport: 8080,
        prefix: 'otpknock forward nas',
        receivedMs: 1_700_000_000_500,
      },
    ]);
  });

  it("reads a UDP knock's payload length from its UDP header (no payload byte is read)", () => {
    const packets = loggedPackets(`
def udp(payload):
    return struct.pack('>HHHH', 40000, 31244, 8 + len(payload), 0) + payload
def v4(payload):
    return b'\\x45' + b'\\0' * 8 + b'\\x11' + b'\\0' * 2 + socket.inet_pton(socket.AF_INET, '192.0.2.2') + socket.inet_pton(socket.AF_INET, '192.0.2.1') + udp(payload)
data = packet(socket.AF_INET, None, b'otpknock bad', v4(b'')) + packet(socket.AF_INET, None, b'otpknock bad', v4(b'\\x01\\x02\\x03\\x04\\x05\\x06'))
`);
    expect(packets.map((p) => [p?.dport, p?.payloadBytes])).toEqual([
      [31244, 0],
      [31244, 6],
    ]);
  });

  it('builds the bind request the kernel expects', () => {
    const out = python(
      `print(r.config_message(7046, 1, [r.attr(r.NFULA_CFG_CMD, bytes([r.NFULNL_CFG_CMD_BIND]))]).hex())`,
    ).trim();
    // nlmsghdr: length 28, type NFNL_SUBSYS_ULOG<<8 | CONFIG, flags REQUEST|ACK, seq 1, pid 0;
    // nfgenmsg: family 0, version 0, res_id = group 7046 big endian; attribute CMD (length 5, padded): BIND
    expect(out).toBe('1c000000' + '0104' + '0500' + '01000000' + '00000000' + '00001b86' + '0500010001000000');
  });
});
