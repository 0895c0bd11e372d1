// "kernel = plan" in the server bench: does the kernel's step map hold exactly the live plan?
// Counting elements is not enough near an expiry: the plan dates a timeout from the instant
// its script was rendered, the kernel from the commit that loaded it, so an element the plan
// has ended stays in the kernel for as long as that commit was late (a full load of 10,000
// users on a busy machine takes seconds). Elements are compared one by one instead; one the
// plan has ended but whose timeout still runs in the kernel, within that lateness, is
// expiring, not a mismatch.

/** A step map element as the kernel lists it: its value and, when it has a timeout, what is left of it. */
export interface KernelStep {
  next: number;
  /** Remaining timeout in whole seconds, as `nft -j` prints it (rounded down); absent: no timeout. */
  expiresS?: number;
}

export interface PlanCheck {
  /** Elements of the plan: live sequences, and first steps left to their extra window. */
  expected: number;
  /** Elements of the plan the kernel does not hold (examples). */
  missing: string[];
  /** Elements the kernel holds with another value than the plan's (examples). */
  wrongValue: string[];
  /** Elements the plan has ended whose timeout still runs in the kernel, from a late commit. */
  expiring: number;
  /** The delay allowed for them: the latest commit's lateness plus the listing's time. */
  latenessMs: number;
  /** Elements the kernel holds that are in no plan and not about to expire (examples). */
  extra: string[];
  /** Counts behind the examples. */
  counts: { missing: number; wrongValue: number; extra: number };
  ok: boolean;
}

const EXAMPLES = 5;

/** The step map key as the bench writes it: `state.port`. */
export const stepKey = (state: number, port: number): string => `${state}.${port}`;

/**
 * Compares the plan (`expected`: key → next) with the kernel's step map. `latenessMs` bounds
 * how much later than planned the kernel may drop an element: the latest commit after its
 * render, plus the time the listing took.
 */
export function comparePlan(
  expected: ReadonlyMap<string, number>,
  kernel: ReadonlyMap<string, KernelStep>,
  latenessMs: number,
): PlanCheck {
  const missing: string[] = [];
  const wrongValue: string[] = [];
  const extra: string[] = [];
  let expiring = 0;
  for (const [key, next] of expected) {
    const k = kernel.get(key);
    if (k === undefined) missing.push(key);
    else if (k.next !== next) wrongValue.push(`${key}: kernel ${k.next}, plan ${next}`);
  }
  for (const [key, k] of kernel) {
    if (expected.has(key)) continue;
    // nft prints whole seconds, rounded down: up to a second more may be left.
    if (k.expiresS !== undefined && k.expiresS * 1000 <= latenessMs + 1000) expiring++;
    else extra.push(`${key} (${k.expiresS === undefined ? 'no timeout' : `${k.expiresS} s left`})`);
  }
  return {
    expected: expected.size,
    missing: missing.slice(0, EXAMPLES),
    wrongValue: wrongValue.slice(0, EXAMPLES),
    expiring,
    latenessMs,
    extra: extra.slice(0, EXAMPLES),
    counts: { missing: missing.length, wrongValue: wrongValue.length, extra: extra.length },
    ok: missing.length === 0 && wrongValue.length === 0 && extra.length === 0,
  };
}

/** The elements of a `nft -j list map` answer (concatenated `state . port` keys). */
export function kernelSteps(doc: { nftables: Record<string, unknown>[] }): Map<string, KernelStep> {
  type Key = { concat: [number, number] };
  type Elem = [Key | { elem: { val: Key; timeout?: number; expires?: number } }, number];
  const out = new Map<string, KernelStep>();
  for (const o of doc.nftables) {
    const map = o.map as { elem?: Elem[] } | undefined;
    for (const [k, next] of map?.elem ?? []) {
      const [val, expiresS] =
        'elem' in k ? [k.elem.val, k.elem.expires ?? (k.elem.timeout === undefined ? undefined : 0)] : [k, undefined];
      out.set(stepKey(val.concat[0], val.concat[1]), expiresS === undefined ? { next } : { next, expiresS });
    }
  }
  return out;
}
