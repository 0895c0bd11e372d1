// Does this kernel update an element's timeout when `add element` names it again?
// Linux ≥ 6.10 does; older kernels keep the old timeout silently. With it, a
// rotation lengthens a shared prefix's timeout in one operation instead of three
// (see renderChanges). Asked of the kernel itself, inside our own table, once.
import type { NftDriver } from './driver.js';

const PROBE_SET = 'timeout_probe';

export async function probeTimeoutUpdates(nft: NftDriver, table: string): Promise<boolean> {
  const set = `inet ${table} ${PROBE_SET}`;
  try {
    await nft.apply(
      `add set ${set} { typeof meta mark; flags timeout; }\nadd element ${set} { 0x00000001 timeout 1h }\n`,
    );
    await nft.apply(`add element ${set} { 0x00000001 timeout 2h }\n`);
    const doc = (await nft.listJson(['set', 'inet', table, PROBE_SET])) as {
      nftables?: { set?: { elem?: { elem?: { expires?: number } }[] } }[];
    } | null;
    const elem = doc?.nftables?.find((o) => o.set)?.set?.elem?.[0];
    return (elem?.elem?.expires ?? 0) > 3600;
  } catch {
    return false;
  } finally {
    await nft.apply(`delete set ${set}\n`).catch(() => undefined);
  }
}
