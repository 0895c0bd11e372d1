// The benches' command line: --runs N and a few on/off flags. Anything else is refused
// rather than silently ignored (a typo would otherwise run the default bench for minutes).

export interface BenchArgs {
  runs: number;
  flags: ReadonlySet<string>;
}

/** Parses `--runs N` (default `runs.fallback`, a whole number within [min, max]) and the given flags. */
export function benchArgs(argv: readonly string[], runs: { fallback: number; min: number; max: number }, flags: readonly string[] = []): BenchArgs {
  const usage = `usage: ${['[--runs N]', ...flags.map((f) => `[${f}]`)].join(' ')} (N: a whole number from ${runs.min} to ${runs.max}; default ${runs.fallback})`;
  const seen = new Set<string>();
  let n = runs.fallback;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (flags.includes(arg)) seen.add(arg);
    else if (arg === '--runs') {
      const text = argv[++i];
      n = Number(text);
      if (text === undefined || !/^\d+$/.test(text) || n < runs.min || n > runs.max) {
        throw new Error(`--runs: ${JSON.stringify(text ?? '')} is not a whole number from ${runs.min} to ${runs.max}`);
      }
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}; ${usage}`);
  }
  return { runs: n, flags: seen };
}
