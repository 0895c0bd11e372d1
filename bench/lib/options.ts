// Command-line numbers of the benches (node:util parseArgs gives strings): a whole number
// in a range, or an error that names the option and the range.

/** `text` as a whole number from `min` to `max`, or an error naming `--name`. */
export function wholeNumberOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new Error(`--${name}: ${JSON.stringify(text)} is not a whole number from ${min} to ${max}`);
  return n;
}
