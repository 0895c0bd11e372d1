// Which of a source's refused ports make its failed knock, and what they say.
// A knock's datagrams normally come closer together than step_timeout, so the
// last run of refused ports without a longer gap is its last attempt: older
// attempts (another profile, another window) stay out of the explanation. But
// datagrams further apart than step_timeout are a failure of their own (a slow
// or jittery path, a large knock --delay, a short step_timeout): every run then
// holds a port or two and matches nothing. So when the last run explains
// nothing, every refused port of the attempt span is tried as well.
import { formatDuration } from '../config/index.js';
import type { ServerConfig } from '../config/types.js';
import { tokenEndByte } from '../plan/payload-tokens.js';
import { ATTEMPT_SPAN_MS, RefusalBook, type RefusedPacket, type SourceRecord } from './book.js';
import { explainPorts, type Explanation, type FormerSecret } from './explain.js';

/** Pure: the explanation of a source's failed knock, from its refused ports (rec.recent). */
export function explainAttempt(
  rec: SourceRecord,
  config: ServerConfig,
  former: readonly FormerSecret[] = [],
): Explanation {
  const explain = (ports: number[]) => explainPorts({ config, ports, atMs: rec.lastMs, former });
  const packets = RefusalBook.attemptPackets(rec, config.stepTimeoutMs);
  const last = packets.map((p) => p.port!);
  const e = explain(last);
  if (e.cause === 'timing') return withoutToken(e, packets, config) ?? e;
  if (e.cause !== 'unknown') return e;
  const spread = RefusalBook.attemptPorts(rec, ATTEMPT_SPAN_MS);
  if (spread.length <= last.length) return e;
  const wide = explain(spread);
  if (wide.cause === 'unknown') return e;
  const apart = `more than step_timeout (${formatDuration(config.stepTimeoutMs)}) apart`;
  return {
    ...wide,
    text:
      wide.cause === 'timing'
        ? `${wide.text}; here they came ${apart}, and the server forgets a knock's progress after that (knock --delay sets the spacing, the config step_timeout)`
        : `${wide.text} (its datagrams came ${apart})`,
  };
}

/**
 * A live sequence that did not advance under `payload: { require: token }`, whose
 * datagrams were all too short to hold the token (the kernel logs each one's
 * payload length): the client sends no token, so it is the payload, not the timing.
 */
function withoutToken(
  e: Explanation,
  packets: readonly RefusedPacket[],
  config: ServerConfig,
): Explanation | undefined {
  const p = config.payload;
  if (p?.require !== 'token' || e.user === undefined) return undefined;
  const needed = tokenEndByte(p.shape);
  const lengths = packets.map((x) => x.payloadBytes);
  if (lengths.length === 0 || lengths.some((n) => n === undefined || n >= needed)) return undefined;
  const carried = [...new Set(lengths)].join(' or ');
  const window = /of window (\d+)/.exec(e.text)?.[1];
  return {
    cause: 'payload',
    user: e.user,
    text: `the ports are ${e.user}'s sequence${window === undefined ? '' : ` of window ${window}`} (live), but the server requires a payload token (payload: { require: token, shape: ${p.shape} }: at least ${needed} bytes) and the datagrams did not carry one (${carried} bytes of payload): the client's profile lacks token_bytes or the payload setting; give ${e.user} the server's profile again: otpknockd user uri ${e.user}`,
  };
}
