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

const nextUlid = monotonicFactory();

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
