// `services:`: the protected TCP services, each with a port of its own, local or
// forwarded (gateway mode: `forward:`).
import { DEFAULTS, KEYS, SERVICE_NAME, describe, keysIn, serviceSchema } from './schema.js';
import { parseForward, serviceScopeText } from './forward.js';
import type { ForwardScope, ServiceConfig } from './types.js';
import { isMapping, type ParseContext } from './parse-context.js';

export interface Services {
  /** The valid services. */
  services: ServiceConfig[];
  /** Every name under services:, valid or not (users refer to them). */
  names: string[];
}

export function parseServices(ctx: ParseContext): Services {
  const value = ctx.data.services;
  const { report } = ctx;
  const services: ServiceConfig[] = [];
  if (value === undefined || value === null) {
    report.report(['services'], 'missing; expected at least one service to protect, e.g. "ssh: { port: 22 }"');
    return { services, names: [] };
  }
  if (!isMapping(value)) {
    report.report(
      ['services'],
      `expected a mapping of service names to settings, e.g. "ssh: { port: 22 }", got ${describe(value)}`,
    );
    return { services, names: [] };
  }
  if (Object.keys(value).length === 0) {
    report.report(['services'], 'expected at least one service to protect, e.g. "ssh: { port: 22 }"');
    return { services, names: [] };
  }
  for (const [name, settings] of Object.entries(value)) {
    const at = ['services', name];
    const nameOk = SERVICE_NAME.test(name);
    if (!nameOk) report.report(at, 'invalid service name; expected 1 to 24 characters from a-z, 0-9, _ and -');
    const raw = report.check(serviceSchema, settings, at, keysIn(KEYS.service));
    if (raw === undefined || !nameOk) continue;
    let forward: ForwardScope | undefined;
    if (raw.forward !== undefined) {
      const scope = parseForward(raw.forward);
      if ('problem' in scope) {
        report.report([...at, 'forward'], scope.problem);
        continue;
      }
      forward = scope;
    }
    const taken = services.find((s) => s.port === raw.port);
    if (taken) {
      report.report([...at, 'port'], portTakenMessage(raw.port, taken, forward));
      continue;
    }
    services.push({
      name,
      port: raw.port,
      openForMs: raw.open_for ?? DEFAULTS.openForMs,
      ...(forward === undefined ? {} : { forward }),
    });
  }
  return { services, names: Object.keys(value) };
}

/** Why a second service may not have a port: a local and a forwarded one on one port contradict each other. */
function portTakenMessage(port: number, taken: ServiceConfig, forward: ForwardScope | undefined): string {
  const mine = serviceScopeText(forward);
  const theirs = serviceScopeText(taken.forward);
  if ((forward === undefined) !== (taken.forward === undefined)) {
    return `port ${port} is already the port of service ${taken.name} (${theirs}); a port is guarded either on this host or forwarded, not both (this one is ${mine})`;
  }
  return `port ${port} is already used by service ${taken.name}${forward === undefined ? '' : ` (${theirs})`}; each service needs a port of its own`;
}
