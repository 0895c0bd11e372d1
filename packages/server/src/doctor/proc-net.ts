// Sockets from /proc/net/{tcp,tcp6,udp,udp6}: pure parsers. These files are
// per network namespace, so `ip netns exec NS otpknockd doctor` sees the
// namespace's sockets, and they need no ss(8) and no root.

export interface Socket {
  proto: 'tcp' | 'udp';
  family: 4 | 6;
  address: string;
  port: number;
  /** Kernel socket state: 0x0A TCP listening, 0x07 unconnected UDP (bound), 0x01 connected. */
  state: number;
  uid: number;
  inode: number;
}

export const TCP_LISTEN = 0x0a;
export const UDP_UNCONNECTED = 0x07;
export const UDP_CONNECTED = 0x01;

/** A 32-bit word of /proc/net address hex, in the machine's byte order, as 4 bytes. */
function wordBytes(hex: string, littleEndian: boolean): number[] {
  const b = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return littleEndian ? b.reverse() : b;
}

export function decodeAddress(hex: string, littleEndian = true): string {
  if (hex.length === 8) return wordBytes(hex, littleEndian).join('.');
  if (hex.length === 32) {
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8), littleEndian));
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return compressV6(groups);
  }
  throw new Error(`not a /proc/net address: ${hex}`);
}

function compressV6(groups: string[]): string {
  // Longest run of zero groups (length ≥ 2) becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Parses the text of one /proc/net/{tcp,tcp6,udp,udp6} file. Lines it cannot read are skipped. */
export function parseProcNet(text: string, proto: 'tcp' | 'udp', family: 4 | 6, littleEndian = true): Socket[] {
  const out: Socket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [addr, port] = (f[1] ?? '').split(':');
    if (addr === undefined || port === undefined) continue;
    try {
      out.push({
        proto,
        family,
        address: decodeAddress(addr, littleEndian),
        port: parseInt(port, 16),
        state: parseInt(f[3] ?? '', 16),
        uid: Number(f[7]),
        inode: Number(f[9]),
      });
    } catch {
      // a line in a format we do not know: not worth failing doctor for
    }
  }
  return out;
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** UDP sockets that receive datagrams from anywhere on a port: bound, not connected. */
export function udpListeners(sockets: readonly Socket[]): Socket[] {
  return sockets.filter((s) => s.proto === 'udp' && s.state === UDP_UNCONNECTED);
}

export function tcpListeners(sockets: readonly Socket[]): Socket[] {
  return sockets.filter((s) => s.proto === 'tcp' && s.state === TCP_LISTEN);
}
