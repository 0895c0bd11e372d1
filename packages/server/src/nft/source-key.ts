// What the kernel counts, bans and meters a knock source by: the address (IPv4),
// or its /64 (IPv6: one host usually has a whole /64 to pick addresses from).

type Family = 4 | 6;

const V6_PREFIX_MASK = 'ffff:ffff:ffff:ffff::';

/** The nft expression of a source's key in family `f`. */
export function banKey(f: Family): string {
  return f === 4 ? 'ip saddr' : `ip6 saddr & ${V6_PREFIX_MASK}`;
}
