// Small hand-built configs for unit tests (no files, no secrets on disk).
import type { KnockProfile } from '@otpknock/shared';
import type { ServerConfig, ServiceConfig, UserConfig } from '../src/config/types.js';

export function timeProfile(over: Partial<KnockProfile> = {}): KnockProfile {
  return {
    method: 'time',
    length: 3,
    period: 30,
    algorithm: 'SHA1',
    range: { min: 10000, max: 65000 },
    exclude: [22],
    ports: [],
    open: [],
    close: [],
    toggle: false,
    tokenBytes: 0,
    ...over,
  };
}

export function user(name: string, over: Partial<UserConfig> = {}): UserConfig {
  const secret = new Uint8Array(20);
  for (let i = 0; i < secret.length; i++) secret[i] = (name.charCodeAt(i % name.length) * (i + 7)) & 0xff;
  return { name, secret, secretSource: 'inline', services: ['ssh'], profile: timeProfile(), ...over };
}

export function serverConfig(over: Partial<ServerConfig> = {}): ServerConfig {
  return {
    file: '/etc/otpknock/test.yaml',
    table: 'otpknock_test',
    keepTableOnStop: false,
    skew: 1,
    stepTimeoutMs: 5000,
    logFormat: 'text',
    stateDir: '/nonexistent/otpknock-test-state',
    auditNflogGroup: 7046,
    ban: { after: 10, withinMs: 60_000, forMs: 600_000 },
    services: [{ name: 'ssh', port: 22, openForMs: 30_000 }],
    users: [user('alice')],
    ...over,
  };
}

/**
 * Gateway mode's services (docs/gateway.md): a local ssh, then nas (forward: dnat, 8443),
 * cam (routed to `routed4`, 554) and lab (routed to 2001:db8:2::/64, 8080).
 */
export function gatewayServices(routed4 = '198.51.100.0/24'): ServiceConfig[] {
  return [
    { name: 'ssh', port: 22, openForMs: 30_000 },
    { name: 'nas', port: 8443, openForMs: 30_000, forward: { kind: 'dnat' } },
    { name: 'cam', port: 554, openForMs: 30_000, forward: { kind: 'routed', destination: routed4, family: 4 } },
    {
      name: 'lab',
      port: 8080,
      openForMs: 30_000,
      forward: { kind: 'routed', destination: '2001:db8:2::/64', family: 6 },
    },
  ];
}
