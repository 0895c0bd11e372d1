// `services.NAME.forward`: a service behind this host (gateway mode, docs/gateway.md).
// Pure: the YAML value in, the scope or what is wrong with it out.
import { ipAddressOf, quote } from '@otpknock/shared';
import type { ForwardScope } from './types.js';

export const FORWARD_HINT =
  'write dnat (a port forward or a Docker-published port: the port clients connect to, before DNAT) or the address or prefix it is routed to, e.g. 198.51.100.10 or 2001:db8:2::/64';

/** The bits of an address, most significant first (IPv4: 32, IPv6: 128). */
function addressBits(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  const [head = '', tail] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two groups.
  const expand = (g: string[]) =>
    g.flatMap((x) => {
      if (!x.includes('.')) return [x];
      const v = Number(addressBits(x, 4));
      return [(v >>> 16).toString(16), (v & 0xffff).toString(16)];
    });
  const he = expand(h);
  const te = expand(t);
  const all = [...he, ...Array<string>(8 - he.length - te.length).fill('0'), ...te];
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Ranges no router forwards to: a guard there would guard nothing (IPv4 and IPv6). */
const UNROUTABLE: { family: 4 | 6; prefix: string; length: number; what: string }[] = [
  { family: 4, prefix: '0.0.0.0', length: 8, what: '"this network" (0.0.0.0/8)' },
  { family: 4, prefix: '127.0.0.0', length: 8, what: 'loopback (127.0.0.0/8): it never leaves the host' },
  { family: 4, prefix: '169.254.0.0', length: 16, what: 'link-local (169.254.0.0/16): routers do not forward it' },
  { family: 4, prefix: '224.0.0.0', length: 3, what: 'multicast or reserved (224.0.0.0/3)' },
  { family: 6, prefix: '::', length: 127, what: 'the unspecified or loopback address (::, ::1)' },
  { family: 6, prefix: 'fe80::', length: 10, what: 'link-local (fe80::/10): routers do not forward it' },
  { family: 6, prefix: 'ff00::', length: 8, what: 'multicast (ff00::/8)' },
];

const within = (bits: bigint, family: 4 | 6, prefix: string, length: number): boolean => {
  const width = family === 4 ? 32n : 128n;
  const shift = width - BigInt(length);
  return bits >> shift === addressBits(prefix, family) >> shift;
};

/** `forward:` as written → its scope, or a message saying what is wrong and what to write. */
export function parseForward(value: unknown): ForwardScope | { problem: string } {
  if (value === 'dnat') return { kind: 'dnat' };
  if (typeof value !== 'string') {
    const got = value === true ? 'true' : typeof value;
    return { problem: `expected dnat or an address, got ${got}; ${FORWARD_HINT}` };
  }
  const [addressText = '', lengthText, extra] = value.split('/');
  const ip = ipAddressOf(addressText);
  if ('problem' in ip || extra !== undefined) {
    const why = 'problem' in ip ? `${quote(addressText)} ${ip.problem}` : 'it has more than one "/"';
    return { problem: `${quote(value)} is neither dnat nor an address or prefix: ${why}; ${FORWARD_HINT}` };
  }
  const width = ip.family === 4 ? 32 : 128;
  const length = lengthText === undefined ? width : Number(lengthText);
  if (!/^\d{1,3}$/.test(lengthText ?? '0') || length < 1 || length > width) {
    return {
      problem: `${quote(value)}: the prefix length must be a number from 1 to ${width}; a guard on every address (/0) would ask a knock of every connection routed through this host to that port`,
    };
  }
  const bits = addressBits(ip.address, ip.family);
  const hostBits = BigInt(width - length);
  if (bits & ((1n << hostBits) - 1n)) {
    const network = bits & ~((1n << hostBits) - 1n);
    return {
      problem: `${quote(value)} has host bits set beyond /${length}; write the network, ${networkText(network, ip.family)}/${length}, or one address without a prefix`,
    };
  }
  const bad = UNROUTABLE.find((u) => u.family === ip.family && within(bits, ip.family, u.prefix, u.length));
  if (bad)
    return { problem: `${quote(value)} is ${bad.what}; a forwarded service needs an address this host routes to` };
  return { kind: 'routed', destination: lengthText === undefined ? ip.address : value, family: ip.family };
}

function networkText(bits: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join('.');
  const groups = [...Array(8).keys()].map((i) => ((bits >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** How a service is reached, for messages and status: "local", "forwarded (dnat)", "forwarded to 198.51.100.10". */
export function serviceScopeText(forward: ForwardScope | undefined): string {
  if (forward === undefined) return 'local';
  return forward.kind === 'dnat' ? 'forwarded (DNAT)' : `forwarded to ${forward.destination}`;
}
