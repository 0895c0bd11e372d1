// Why a knock did not open, as far as the client can see it. Pure: what the connection
// attempts before and after the knocks saw goes in, the message and exit code come out.
//
// otpknockd never answers a knock and never refuses a port it guards: it drops. So an
// answer before the knock (a connection, a TCP reset) means the port is not guarded; a
// reset only after the knock means the knock was let in and nothing listens; silence
// is all a refused knock looks like, and only the server can say why it refused.
import { EXIT, type ExitCode } from './errors.js';

/** What the connection attempts saw: `before` the first knock, and every failure `after`. */
export interface Observed {
  /** The attempt made before the first knock: 'open', 'silent' or an error code (ECONNREFUSED…). */
  before?: string;
  /** Error codes of the attempts after the knocks; empty when every one went unanswered. */
  after: readonly string[];
  /** The local address the attempts came from, if known. */
  localAddress?: string;
}

export interface FailedKnock extends Observed {
  /** The host as typed, and the address knocked. */
  host: string;
  address: string;
  port: number;
  knocks: number;
  /** How long knock tried, in ms. */
  elapsedMs: number;
  /** This machine's clock when it gave up (unix ms), to compare with the server's. */
  nowMs?: number;
  /** The milliseconds between the knock's datagrams (--delay). */
  delayMs?: number;
}

export interface Diagnosis {
  exitCode: ExitCode;
  /** First line: what happened; the rest: what it means and what to do. */
  message: string;
}

type Cause = 'blocked' | 'no-route' | 'unreachable' | 'refused-before' | 'refused-after' | 'silent';

const CODES: Record<Exclude<Cause, 'refused-before' | 'refused-after' | 'silent'>, readonly string[]> = {
  blocked: ['EPERM', 'EACCES'],
  'no-route': ['ENETUNREACH', 'ENETDOWN'],
  unreachable: ['EHOSTUNREACH', 'EHOSTDOWN'],
};

/** Pure: the most telling cause among what was seen (a local block before a route, before an ICMP, before a reset). */
export function causeOf(o: Observed): Cause {
  const seen = [...o.after, ...(o.before === undefined ? [] : [o.before])];
  for (const cause of ['blocked', 'no-route', 'unreachable'] as const)
    if (seen.some((c) => CODES[cause].includes(c))) return cause;
  if (o.before === 'ECONNREFUSED') return 'refused-before';
  if (o.after.includes('ECONNREFUSED')) return 'refused-after';
  return 'silent';
}

/** The command an operator runs on the server for this client's address. */
export function serverCommand(localAddress: string | undefined): string {
  return `sudo otpknockd why ${localAddress ?? 'YOUR-ADDRESS'}`;
}

/**
 * The shortest step_timeout otpknockd accepts (docs/configuration.md): a knock whose datagrams
 * go at least this far apart may be forgotten between its steps by a server configured so.
 */
export const SHORTEST_STEP_TIMEOUT_MS = 100;

/** What the client knows of its own spacing, when a server could have forgotten the steps in between. */
function spacingNote(delayMs: number | undefined): string {
  if (delayMs === undefined || delayMs < SHORTEST_STEP_TIMEOUT_MS) return '';
  return `  This knock sent its datagrams ${delayMs} ms apart (--delay): a server whose step_timeout is shorter\n  forgets each step before the next comes.\n`;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Pure: what to tell the person whose knock did not open. */
export function diagnose(f: FailedKnock): Diagnosis {
  const where = `${f.host}${f.address !== f.host ? ` (${f.address})` : ''} port ${f.port}`;
  const tried = `${f.knocks} knock${f.knocks === 1 ? '' : 's'}, ${seconds(f.elapsedMs)}`;
  const ask = `On the server, this shows why it refused the knock: ${serverCommand(f.localAddress)}${
    f.localAddress === undefined ? '' : ' (the address the server sees: behind NAT, your public one)'
  }`;
  switch (causeOf(f)) {
    case 'blocked':
      return {
        exitCode: EXIT.NETWORK,
        message: `${where}: this machine's own firewall refused to send to it (${tried})\n  Nothing reached ${f.address}: allow outgoing TCP to port ${f.port} (and UDP to the knock ports) here.`,
      };
    case 'no-route':
      return {
        exitCode: EXIT.NETWORK,
        message: `${where}: no route to ${f.address}: network unreachable (${tried})\n  Nothing reached it: check the address (knock print ${f.host}), the network connection or the VPN.`,
      };
    case 'unreachable':
      return {
        exitCode: EXIT.NETWORK,
        message: `${where}: host unreachable: an ICMP "unreachable" came back, or no neighbour answered on the local network (${tried})\n  The host is down, or a router or firewall on the way rejects the traffic; the knock cannot have reached otpknockd.`,
      };
    case 'refused-before':
      return {
        exitCode: EXIT.REFUSED,
        message: `${where}: refused before the knock as after it (TCP reset or ICMP port unreachable; ${tried})\n  otpknockd drops the ports it guards, it never refuses them: port ${f.port} on ${f.address} is not guarded by otpknockd.\n  Nothing listens on it, or another firewall rejects it. Check the port (knock print ${f.host}; --port) and, on the server: sudo otpknockd status`,
      };
    case 'refused-after':
      return {
        exitCode: EXIT.REFUSED,
        message: `${where}: silent before the knock, refused after it (TCP reset or ICMP port unreachable; ${tried})\n  The knock was let in, but nothing accepts connections on port ${f.port}: is the service running, and is ${f.port} its port?`,
      };
    case 'silent':
      return {
        exitCode: EXIT.NOT_OPEN,
        message:
          `${where}: no answer after ${tried}: the knock was not accepted, or something drops the traffic\n` +
          `  Silence is all a refused knock looks like from here. Causes only the server can see: this machine's clock more\n` +
          `  than one window off${f.nowMs === undefined ? '' : ` (it says ${isoSeconds(f.nowMs)}; compare: date -u on the server)`},\n` +
          `  a profile that differs from the server's (secret, method, range, exclude), a secret the server has\n` +
          `  since rotated, a sequence already used, a banned address, mode closed, a disabled or removed user.\n` +
          `  A firewall on the way, or a host that is down, looks the same.\n${spacingNote(f.delayMs)}  ${ask}`,
      };
  }
}

/** Pure: the message when the sequences the server accepts now were all sent already and the next comes too late. */
export function usedUpMessage(host: string, nextAcceptedMs: number, nowMs: number, localAddress?: string): string {
  const at = isoSeconds(nextAcceptedMs);
  return (
    `${host}: the sequences the server accepts now were sent already by earlier knocks from this machine;\n` +
    `  the next one is accepted from ${at} (in ${seconds(nextAcceptedMs - nowMs)}): knock again then.\n` +
    `  If those knocks did not open either, knocking again will not help: see why they failed, and on the server: ${serverCommand(localAddress)}\n` +
    `  (Knocks are remembered per secret and profile in used-windows.json, see knock --help.)`
  );
}
