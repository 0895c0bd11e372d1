// The nft script for our whole table. Pure text generation: `otpknockd render`
// prints exactly this, and `run` loads exactly this in one transaction.
//
// Packet path (all in the kernel, no per-packet userspace work):
//   raw prerouting: knock UDP is `notrack`, so a flood of it costs no conntrack,
//     except datagrams a local socket is waiting for (replies to this host's own
//     DNS/NTP queries from ephemeral ports inside the knock range).
//   input: established/related accept → loopback accept → knock UDP → guards.
//   knockN: load the source's state from progressN (0 when none), look up
//     `state . dport` in `step`; if that fails, retry from state 0 (a new
//     attempt may start any time); if that fails too, reset the source.
//   advancedN: a leaf (FINAL_FLAG) finishes a sequence; otherwise store the
//     new state with the step timeout, within the source's store budget.
//   finalN: reset, refuse a consumed one-time leaf, consume it, then turn the
//     leaf's class bits into its action word (`leaf_action`) and open/close/toggle the
//     user's services, each in its own `allowedN_<service>` set whose timeout
//     is the service's open_for.
//   guard_<service>: the protected port accepts new connections only from
//     addresses in its allowed sets.
//   forward (gateway mode, ruleset/forward.ts): new connections forwarded to a
//     forwarded service, by their original destination, go to its guard too.
import type { ServerConfig } from '../config/types.js';
import {
  ACTION_CLOSE,
  ACTION_TOGGLE,
  FIRST_STEP_FLAG,
  LEAF_CLASS_MASK,
  ONE_TIME_FLAG,
  FINAL_FLAG,
} from '../trie/layout.js';
import type { LeafActionElement, StepElement, StepKey, TrieChanges } from '../trie/state.js';
import { knockPortIntervals } from '../nft/knock-ports.js';
import {
  banCheckRule,
  banCountersText,
  banSetsText,
  bannedKnockChainText,
  strikeRule,
  type BannedCarryOver,
} from '../nft/ban.js';
import { BAD_PREFIX, refusalLogObjectsText, refusalLogStatements } from '../nft/refusal-log.js';
import { modeChainText, type ServiceMode } from '../mode.js';
import { payloadShapeRules, stepKeyExpr } from '../plan/payload-tokens.js';
// The audit (audit/nflog.ts): completed knocks go to an NFLOG group with their leaf mark.
import { OPEN_PREFIX, REPLAY_PREFIX } from '../audit/nflog.js';
import { forwardChainText, forwardGuardText, isForwarded } from './forward.js';

/** Marks our table so we never take over a table of the same name made by someone else. */
export const TABLE_COMMENT = 'managed by otpknockd';

/** Sizes of the dynamic sets: explicit, so a flood cannot grow them without bound. */
export const PROGRESS_SET_SIZE = 524_288;
/**
 * How long a source's progress lasts after a first step (after later steps:
 * step_timeout). A real knocker sends its second port milliseconds later (at most
 * half a second: the client's --delay); forged first steps from ever new addresses
 * (IPv6 gives an attacker plenty) each hold a progress element only this long (plus
 * up to a second until the kernel's garbage collection frees it), so the map has
 * room for about PROGRESS_SET_SIZE / 2 s ≈ 260,000 new sources a second. At most
 * ~50 MB of kernel memory per family when full.
 */
export const FIRST_STEP_TIMEOUT_MS = 1_000;
export const ALLOWED_SET_SIZE = 65_536;
export const USED_SET_SIZE = 262_144;
export const STORE_BUDGET_SET_SIZE = 65_536;

type Family = 4 | 6;
const saddr = (f: Family) => (f === 4 ? 'ip saddr' : 'ip6 saddr');
const addrType = (f: Family) => (f === 4 ? 'ip saddr' : 'ip6 saddr');

export const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const ms = (n: number): string => `${Math.max(1, Math.round(n))}ms`;

/** Carried-over allowed addresses (reload, restart) with their remaining time. */
export interface AllowedCarryOver {
  service: string;
  family: Family;
  address: string;
  remainingMs: number;
}

export interface RulesetInput {
  config: ServerConfig;
  steps: readonly StepElement[];
  actions: readonly LeafActionElement[];
  /** How long a consumed one-time leaf stays refused: longer than it can be live. */
  usedTimeoutMs: number;
  allowed?: readonly AllowedCarryOver[];
  /** Consumed one-time leaves carried over (reload, restart), as new marks. */
  used?: readonly { leaf: number; remainingMs: number }[];
  /** Banned sources carried over (reload, restart). */
  banned?: readonly BannedCarryOver[];
  /** The global mode (`otpknockd mode`); default knock. */
  mode?: ServiceMode;
  /** The instant the script is made for: element timeouts count from it. Default: now. */
  nowMs?: number;
}

const stepKeyText = (e: StepKey): string =>
  `${hex(e.state)} . ${e.port}${e.token === undefined ? '' : ` . ${e.token}`}`;

/** ` timeout …` for an element that expires, '' for one that never does. */
function timeoutText(expiresMs: number | undefined, nowMs: number): string {
  return expiresMs === undefined ? '' : ` timeout ${ms(expiresMs - nowMs)}`;
}

export function stepElementText(e: StepElement, nowMs: number): string {
  return `${stepKeyText(e)}${timeoutText(e.expiresMs, nowMs)} : ${hex(e.next)}`;
}

export function actionElementText(e: LeafActionElement): string {
  return `${hex(e.leaf)} : ${hex(e.action)}`;
}

/**
 * How many progress stores a source may make in a burst, and per second after it.
 * Storing progress from the packet path is a delete and an add of the source's
 * element; the deleted one lingers until the set's garbage collection, so a
 * source that stores thousands of times a second builds a chain of dead
 * duplicates in one hash bucket (slow lookups, then failed inserts). Real
 * knockers store length − 1 times per attempt; the budget leaves room for many
 * users behind one address and cuts a one-source flood down to a cheap meter
 * lookup per packet. A throttled step resets the source's progress like any
 * step that does not count: a step is never skipped over. (Deleting an absent or
 * already dead element adds nothing to the chain.)
 */
export function storeBudget(): { burst: number; perSecond: number; timeoutMs: number } {
  // Each store leaves a dead element in the source's hash bucket until the next
  // garbage collection (about a second), and every lookup of that source walks
  // them: the budget bounds that walk. 16 at once and 8 a second (4 knocks a second
  // from one address: a team behind one NAT) keep a flooding source's packets within
  // ~0.3 µs of the cost of a bad knock; 64 and 32 cost ~1.4 µs more per packet.
  return { burst: 16, perSecond: 8, timeoutMs: 2_000 };
}

function elementsBlock(items: readonly string[], indent: string): string {
  if (items.length === 0) return '';
  return `${indent}elements = {\n${indent}\t${items.join(`,\n${indent}\t`)}\n${indent}}\n`;
}

function familyChains(config: ServerConfig, f: Family): string {
  const a = saddr(f);
  const step = config.stepTimeoutMs;
  const services = config.services;
  const budget = storeBudget();
  const bit = (i: number) => hex(1 << i);
  const open = services
    .map((s, i) => `\t\tmeta mark & ${bit(i)} == ${bit(i)} update @allowed${f}_${s.name} { ${a} }\n`)
    .join('');
  const close = services
    .map((s, i) => `\t\tmeta mark & ${bit(i)} == ${bit(i)} delete @allowed${f}_${s.name} { ${a} }\n`)
    .join('');
  const toggleCheck = services
    .map((s, i) => `\t\tmeta mark & ${bit(i)} == ${bit(i)} ${a} @allowed${f}_${s.name} goto close${f}\n`)
    .join('');
  return `
	chain knock${f} {
${banCheckRule(config, f)}${payloadShapeRules(config)}		meta mark set 0x00000000
		meta mark set ${a} map @progress${f}
		meta mark set ${stepKeyExpr(config)} map @step goto advanced${f}
		meta mark set 0x00000000
		meta mark set ${stepKeyExpr(config)} map @step goto advanced${f}
		delete @progress${f} { ${a} : 0x00000000 } counter name bad_knocks
		${refusalLogStatements(config, f, BAD_PREFIX)}
${strikeRule(config, f)}		drop
	}
${bannedKnockChainText(config, f)}
	chain advanced${f} {
		meta mark & ${hex(FINAL_FLAG)} == ${hex(FINAL_FLAG)} goto final${f}
		update @store_budget${f} { ${a} limit rate over ${budget.perSecond}/second burst ${budget.burst} packets } delete @progress${f} { ${a} : 0x00000000 } counter name stores_throttled drop
		meta mark & ${hex(FIRST_STEP_FLAG)} == ${hex(FIRST_STEP_FLAG)} delete @progress${f} { ${a} : 0x00000000 } add @progress${f} { ${a} timeout ${ms(Math.min(step, FIRST_STEP_TIMEOUT_MS))} : meta mark } counter name steps_stored drop
		delete @progress${f} { ${a} : 0x00000000 } add @progress${f} { ${a} timeout ${ms(step)} : meta mark } counter name steps_stored drop
		counter name progress_full drop
	}

	chain final${f} {
		delete @progress${f} { ${a} : 0x00000000 }
		meta mark @used counter name replays log prefix "${REPLAY_PREFIX}" group ${config.auditNflogGroup} drop
		meta mark & ${hex(ONE_TIME_FLAG)} == ${hex(ONE_TIME_FLAG)} add @used { meta mark }
		counter name completed log prefix "${OPEN_PREFIX}" group ${config.auditNflogGroup}
		meta mark set meta mark & ${hex(LEAF_CLASS_MASK)} map @leaf_action
		meta mark & ${hex(ACTION_CLOSE)} == ${hex(ACTION_CLOSE)} goto close${f}
		meta mark & ${hex(ACTION_TOGGLE)} == ${hex(ACTION_TOGGLE)} goto toggle${f}
		goto open${f}
	}

	chain open${f} {
${open}		drop
	}

	chain close${f} {
${close}		drop
	}

	chain toggle${f} {
${toggleCheck}		goto open${f}
	}
`;
}

function carryOverText(allowed: readonly AllowedCarryOver[], service: string, f: Family): string[] {
  return allowed
    .filter((x) => x.service === service && x.family === f && x.remainingMs >= 1000)
    .map((x) => `${x.address} timeout ${ms(x.remainingMs)}`);
}

/** The named counters, every one followed by a blank line (the ban's and the payload's too). */
function countersText(config: ServerConfig): string {
  const names = ['bad_knocks', 'replays', 'completed', 'refused', 'stores_throttled', 'steps_stored', 'progress_full'];
  if (config.services.some(isForwarded)) names.push('forwarded');
  const payload = config.payload === undefined ? '' : '\tcounter payload_refused {\n\t}\n\n';
  return `${names.map((n) => `\tcounter ${n} {\n\t}\n\n`).join('')}${banCountersText(config)}${payload}`;
}

/** The UDP ports knocks may go to: what raw_prerouting and input send to the knock chains. */
function knockPortsSetText(config: ServerConfig): string {
  const portsText = knockPortIntervals(config).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`));
  return `	set knock_ports {
		type inet_service
		flags interval
${elementsBlock(portsText, '\t\t')}	}
`;
}

/** Per family: each source's progress (`progressN`) and its store budget meter (`store_budgetN`). */
function progressSetsText(config: ServerConfig): string {
  return ([4, 6] as const)
    .map(
      (f) => `	map progress${f} {
		typeof ${addrType(f)} : meta mark
		size ${PROGRESS_SET_SIZE}
		flags dynamic,timeout
		timeout ${ms(config.stepTimeoutMs)}
	}

	set store_budget${f} {
		typeof ${addrType(f)}
		size ${STORE_BUDGET_SET_SIZE}
		flags dynamic,timeout
		timeout ${ms(storeBudget().timeoutMs)}
	}
`,
    )
    .join('\n');
}

/** The knock trie: `step` (state . port → next state) and `leaf_action` (leaf class → action word). */
function trieMapsText(input: RulesetInput, nowMs: number): string {
  return `	map step {
		typeof ${stepKeyExpr(input.config)} : meta mark
		flags timeout
${elementsBlock(
  input.steps.map((e) => stepElementText(e, nowMs)),
  '\t\t',
)}	}

	map leaf_action {
		typeof meta mark : meta mark
${elementsBlock(input.actions.map(actionElementText), '\t\t')}	}
`;
}

/** Consumed one-time leaves, with those carried over. */
function usedSetText(input: RulesetInput): string {
  const carried = (input.used ?? [])
    .filter((u) => u.remainingMs >= 1000)
    .map((u) => `${hex(u.leaf)} timeout ${ms(u.remainingMs)}`);
  return `	set used {
		typeof meta mark
		size ${USED_SET_SIZE}
		flags dynamic,timeout
		timeout ${ms(input.usedTimeoutMs)}
${elementsBlock(carried, '\t\t')}	}
`;
}

/** Per service and family: the addresses a knock opened it for (`allowedN_<service>`), with those carried over. */
function allowedSetsText(config: ServerConfig, allowed: readonly AllowedCarryOver[]): string {
  const sets: string[] = [];
  for (const s of config.services) {
    for (const f of [4, 6] as const) {
      sets.push(`	set allowed${f}_${s.name} {
		typeof ${addrType(f)}
		size ${ALLOWED_SET_SIZE}
		flags dynamic,timeout
		timeout ${ms(s.openForMs)}
${elementsBlock(carryOverText(allowed, s.name, f), '\t\t')}	}
`);
    }
  }
  return sets.join('\n');
}

/**
 * The base chains: knock UDP untracked in raw prerouting; input sends knocks and
 * local protected ports on; forward (gateway mode) guards the forwarded services.
 * Only datagrams to this host's own addresses are knocks: UDP this host routes
 * (a router's LAN traffic to ports in the knock range) stays tracked, so NAT and
 * every firewall see it as before.
 */
function hookChainsText(config: ServerConfig): string {
  const local = config.services.filter((s) => !isForwarded(s));
  const guardVmap =
    local.length === 0
      ? ''
      : `		tcp dport vmap { ${local.map((s) => `${s.port} : goto guard_${s.name}`).join(', ')} }
`;
  return `	chain raw_prerouting {
		type filter hook prerouting priority raw; policy accept;
		udp dport @knock_ports socket transparent 0 accept
		udp dport @knock_ports fib daddr type local notrack
	}

	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		iifname "lo" accept
		jump mode
		meta nfproto ipv4 udp dport @knock_ports goto knock4
		meta nfproto ipv6 udp dport @knock_ports goto knock6
${guardVmap}	}
${forwardChainText(config.services)}`;
}

/** Per service: its port accepts new connections only from its allowed sets. */
function guardChainsText(config: ServerConfig): string {
  return config.services
    .map((s) =>
      isForwarded(s)
        ? forwardGuardText(s, config.auditNflogGroup)
        : `
	chain guard_${s.name} {
		ip saddr @allowed4_${s.name} accept
		ip6 saddr @allowed6_${s.name} accept
		counter name refused drop
	}
`,
    )
    .join('');
}

/**
 * The full table, as one script that replaces any previous version of it
 * atomically (`add table` + `delete table` + definition in one transaction).
 */
export function renderRuleset(input: RulesetInput): string {
  const { config } = input;
  const nowMs = input.nowMs ?? Date.now();
  const t = config.table;
  return `#!/usr/sbin/nft -f
# otpknockd ruleset for table inet ${t}: generated, do not edit.
add table inet ${t}
delete table inet ${t}

table inet ${t} {
	comment "${TABLE_COMMENT}"

${countersText(config)}
${knockPortsSetText(config)}
${progressSetsText(config)}
${trieMapsText(input, nowMs)}
${usedSetText(input)}
${banSetsText(config, input.banned)}
${refusalLogObjectsText()}
${allowedSetsText(config, input.allowed ?? [])}
${hookChainsText(config)}${modeChainText(config, input.mode ?? 'knock')}${familyChains(config, 4)}${familyChains(config, 6)}${guardChainsText(config)}}
`;
}

/** How renderChanges may write a timeout refresh. */
export interface ChangeOptions {
  /**
   * The kernel updates the timeout of an element that `add element` names again
   * (Linux ≥ 6.10; see nft/timeout-update.ts): a refresh is one operation.
   * Otherwise it is a replace (three).
   */
  timeoutUpdates?: boolean;
}

/**
 * The element changes of one rotation, as one script (one transaction).
 * A replaced key may or may not still be in the kernel (its timeout is near or
 * past), so it is first added with its old value (a no-op when present), then
 * deleted, then added anew: all three succeed either way.
 */
export function renderChanges(
  table: string,
  changes: TrieChanges,
  nowMs: number = Date.now(),
  opts: ChangeOptions = {},
): string {
  const lines: string[] = [];
  const chunk = <T>(items: readonly T[], fn: (x: T) => string, head: string) => {
    // Keep lines reasonable for nft's parser on big rotations.
    for (let i = 0; i < items.length; i += 2000) {
      lines.push(
        `${head} { ${items
          .slice(i, i + 2000)
          .map(fn)
          .join(', ')} }`,
      );
    }
  };
  const step = `inet ${table} step`;
  const replaced = opts.timeoutUpdates
    ? changes.replaceSteps
    : [...changes.replaceSteps, ...changes.refreshSteps.map((element) => ({ element, previousNext: element.next }))];
  const refreshed = opts.timeoutUpdates ? changes.refreshSteps : [];
  chunk(replaced, (r) => `${stepKeyText(r.element)} timeout 1s : ${hex(r.previousNext)}`, `add element ${step}`);
  chunk([...changes.deleteSteps, ...replaced.map((r) => r.element)], stepKeyText, `delete element ${step}`);
  chunk(changes.addActions, actionElementText, `add element inet ${table} leaf_action`);
  chunk(
    [...changes.addSteps, ...replaced.map((r) => r.element), ...refreshed],
    (e) => stepElementText(e, nowMs),
    `add element ${step}`,
  );
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Element operations of a change script (a replace counts three). */
export function changeOps(changes: TrieChanges, opts: ChangeOptions = {}): number {
  const replaces = changes.replaceSteps.length + (opts.timeoutUpdates ? 0 : changes.refreshSteps.length);
  return (
    changes.addSteps.length +
    changes.deleteSteps.length +
    changes.addActions.length +
    3 * replaces +
    (opts.timeoutUpdates ? changes.refreshSteps.length : 0)
  );
}
