// A wall-clock offset for one node process, for clock tests: preloaded with
// `node --import test/support/clock-shift.mjs …`. Network namespaces share the
// machine's clock, and stepping the real one would disturb every other process,
// so this moves only what the program reads as the time (Date.now(), new Date()):
// - OTPKNOCK_TEST_CLOCK_OFFSET_MS: a fixed offset in milliseconds;
// - OTPKNOCK_TEST_CLOCK_FILE: a file holding the offset, re-read every 50 ms, so a
//   test can step the clock of a running daemon forward and back.
// Timers (setTimeout) run on the monotonic clock and are not moved, exactly as
// when an administrator or NTP steps a real wall clock.
import { readFileSync } from 'node:fs';

const fixed = Number(process.env.OTPKNOCK_TEST_CLOCK_OFFSET_MS ?? 0) || 0;
const file = process.env.OTPKNOCK_TEST_CLOCK_FILE;
let offset = fixed;

function readOffset() {
  if (!file) return;
  try {
    offset = fixed + (Number(readFileSync(file, 'utf8').trim()) || 0);
  } catch {
    offset = fixed;
  }
}
readOffset();
if (file) setInterval(readOffset, 50).unref();

const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + offset);
    else super(...args);
  }
  static now() {
    return realNow() + offset;
  }
}
globalThis.Date = ShiftedDate;
