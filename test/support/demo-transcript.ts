// The README's demo transcript as patterns, so that test/demo.e2e.test.ts checks the
// demo's real output against the very lines the README shows (they cannot drift).
// A README line stands for one output line, with only what varies from run to run
// generalized: the temp dir (and "…/", the README's short form of it), timestamps,
// numbers of three or more digits (ports, windows, pids, milliseconds) and dotted
// numbers (seconds, the kernel version). Addresses and small numbers ("port 22",
// "ConnectTimeout 3 s", step numbers) must match as written. Pure: text in, patterns out.

/** The demo's temp dir: mktemp's /tmp/otpknock-demo.XXXXXX. */
export const DEMO_TMP_DIR = /\/tmp\/otpknock-demo\.[A-Za-z0-9]{6}/;

const TOKEN =
  /(\/tmp\/otpknock-demo\.[A-Za-z0-9]{6})|(…\/)|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)|(\d+\.\d+\.\d+\.\d+(?!\d))|(\d+(?:\.\d+)+)|(\d{3,})/g;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pattern an output line must match for the README line `line`. */
export function linePattern(line: string): RegExp {
  let out = '';
  let last = 0;
  for (const m of line.matchAll(TOKEN)) {
    out += escape(line.slice(last, m.index));
    const [token, tmp, short, time, ipv4, dotted] = m;
    if (tmp !== undefined) out += DEMO_TMP_DIR.source;
    else if (short !== undefined) out += `${DEMO_TMP_DIR.source}/`;
    else if (time !== undefined) out += '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?Z';
    else if (ipv4 !== undefined) out += escape(ipv4);
    else if (dotted !== undefined) out += '\\d[\\w.+~-]*';
    else out += '\\d+';
    last = m.index + token.length;
  }
  return new RegExp(`^${out}${escape(line.slice(last))}$`);
}

export interface TranscriptLine {
  /** The line's number in the Markdown file. */
  line: number;
  text: string;
  pattern: RegExp;
}

/** The README block's lines (`firstLine`: the number of its first line), less blank ones and "…" (lines left out). */
export function transcriptLines(block: string, firstLine: number): TranscriptLine[] {
  return block
    .split('\n')
    .map((text, i) => ({ line: firstLine + i, text: text.trimEnd() }))
    .filter(({ text }) => text !== '' && text !== '…')
    .map((l) => ({ ...l, pattern: linePattern(l.text) }));
}

/**
 * The first README line that the output does not have, in order (each README line
 * takes the first output line after the previous match that it matches); undefined
 * when all are there.
 */
export function firstMissing(
  lines: readonly TranscriptLine[],
  output: string,
): { missing: TranscriptLine; after: string } | undefined {
  const out = output.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const l of lines) {
    const found = out.findIndex((o, i) => i >= at && l.pattern.test(o));
    if (found === -1) return { missing: l, after: out.slice(Math.max(0, at - 1), at + 12).join('\n') };
    at = found + 1;
  }
  return undefined;
}
