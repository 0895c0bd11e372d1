// Gateway mode (docs/gateway.md): the forward-hook base chain of our table, which
// guards new connections this host forwards to the forwarded services.
//
// Matched on the connection's ORIGINAL destination (conntrack's original tuple,
// i.e. before any DNAT), so the operator names the port clients connect to,
// whatever the backend: `dnat` services only connections this host DNATed (a
// port forward, a Docker-published port), so a LAN host's own outgoing
// connections to that port are never touched; routed services only connections
// to their destination address or prefix.
//
// Priority filter - 1: in nftables a packet must be accepted by every base chain
// on the hook, so our drop holds whatever another table's chain accepts, and
// their drop holds whatever we accept; the order changes no verdict. Just below
// `filter` we run before the usual filter chains (iptables-nft's FORWARD, where
// Docker and ufw live, at 0; firewalld's at +10) in a fixed order, rather than
// in an unspecified one beside them at the same priority.
import type { ServiceConfig } from '../config/types.js';
import { FORWARD_PREFIX } from '../audit/nflog.js';

export const FORWARD_PRIORITY = 'filter - 1';

export const isForwarded = (s: ServiceConfig): boolean => s.forward !== undefined;

/** The rule that sends a forwarded service's new connections to its guard. */
export function forwardMatchRule(s: ServiceConfig): string {
  const to = `ct original proto-dst ${s.port} goto guard_${s.name}`;
  const scope = s.forward;
  if (scope === undefined) throw new Error(`service ${s.name} is not forwarded`);
  if (scope.kind === 'dnat') return `meta l4proto tcp ct status dnat ${to}`;
  return scope.family === 4
    ? `meta nfproto ipv4 meta l4proto tcp ct original ip daddr ${scope.destination} ${to}`
    : `meta nfproto ipv6 meta l4proto tcp ct original ip6 daddr ${scope.destination} ${to}`;
}

/** The forward base chain; '' when no service is forwarded (a plain host pays nothing on that hook). */
export function forwardChainText(services: readonly ServiceConfig[]): string {
  const forwarded = services.filter(isForwarded);
  if (forwarded.length === 0) return '';
  return `
	chain forward {
		type filter hook forward priority ${FORWARD_PRIORITY}; policy accept;
		ct state established,related accept
${forwarded.map((s) => `\t\t${forwardMatchRule(s)}\n`).join('')}	}
`;
}

/**
 * A forwarded service's guard: the global mode first (its own chain: the local one
 * matches local ports), then the grants; a let-through connection is logged to the
 * audit group with its packet, whose destination is the backend (after DNAT).
 */
export function forwardGuardText(s: ServiceConfig, nflogGroup: number): string {
  const log = `counter name forwarded log prefix "${FORWARD_PREFIX} ${s.name}" group ${nflogGroup} accept`;
  return `
	chain guard_${s.name} {
		jump mode_forward
		ip saddr @allowed4_${s.name} ${log}
		ip6 saddr @allowed6_${s.name} ${log}
		counter name refused drop
	}
`;
}
