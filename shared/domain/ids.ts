import { monotonicFactory } from 'ulid';

export const ID_PREFIXES = {
  partner: 'pt',
  reward: 'rw',
  payout: 'po',
  export: 'ex',
  run: 'run',
  event: 'evt',
  hold: 'hold',
  bankReport: 'br',
  webhookEndpoint: 'we',
  webhookDelivery: 'wd',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/**
 * ulid's default source draws one byte from the system's CSPRNG per character (16 calls an id); a
 * bank report settling 10,000 lines spent 4 % of its CPU there. The same CSPRNG, 4 KiB at a time.
 */
const pool = new Uint8Array(4096);
let pooled = pool.length;
function pooledRandom(): number {
  if (pooled >= pool.length) {
    globalThis.crypto.getRandomValues(pool);
    pooled = 0;
  }
  return (pool[pooled++] ?? 0) / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

/** A new prefixed ULID, e.g. `po_01JF3Z…`. Lexicographic order follows creation time. */
export function newId(kind: IdKind, at: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${nextUlid(at)}`;
}

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const patterns = Object.fromEntries(
  Object.entries(ID_PREFIXES).map(([kind, prefix]) => [kind, new RegExp(`^${prefix}_${ULID}$`)]),
) as Record<IdKind, RegExp>;

export function isId(kind: IdKind, value: string): boolean {
  return patterns[kind].test(value);
}

export function idPattern(kind: IdKind): RegExp {
  return patterns[kind];
}
