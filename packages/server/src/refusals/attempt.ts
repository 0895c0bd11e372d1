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
import { ATTEMPT_SPAN_MS, RefusalBook, type SourceRecord } from './book.js';
import { explainPorts, type Explanation, type FormerSecret } from './explain.js';

/** Pure: the explanation of a source's failed knock, from its refused ports (rec.recent). */
export function explainAttempt(
  rec: SourceRecord,
  config: ServerConfig,
  former: readonly FormerSecret[] = [],
): Explanation {
  const explain = (ports: number[]) => explainPorts({ config, ports, atMs: rec.lastMs, former });
  const last = RefusalBook.attemptPorts(rec, config.stepTimeoutMs);
  const e = explain(last);
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
