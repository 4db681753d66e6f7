import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ID_PREFIXES, type IdKind, idPattern, isId, newId } from '../../shared/domain/ids.ts';

const KINDS = Object.keys(ID_PREFIXES) as IdKind[];
const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('newId', () => {
  it.each<[IdKind, string]>([
    ['partner', 'pt_'],
    ['reward', 'rw_'],
    ['payout', 'po_'],
    ['export', 'ex_'],
    ['run', 'run_'],
    ['event', 'evt_'],
  ])('%s ids start with %s and end with a ULID', (kind, prefix) => {
    const id = newId(kind);
    expect(id.startsWith(prefix)).toBe(true);
    expect(id.slice(prefix.length)).toMatch(CROCKFORD);
    expect(isId(kind, id)).toBe(true);
    expect(idPattern(kind).test(id)).toBe(true);
  });

  it('covers exactly the kinds of the contract', () => {
    expect(ID_PREFIXES).toEqual({
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
    });
  });

  it('encodes the given time in the ULID', () => {
    const at = Date.now() + 60_000;
    const id = newId('payout', at);
    expect(decodeTime(id.slice('po_'.length))).toBe(at);
  });

  it('never sorts before an id made earlier, even when given an earlier time', () => {
    const first = newId('payout', Date.now() + 120_000);
    const second = newId('payout', Date.UTC(2020, 0, 1));
    expect(second > first).toBe(true);
    expect(decodeTime(second.slice(3))).toBeGreaterThanOrEqual(decodeTime(first.slice(3)));
  });

  it('is strictly increasing, even many times within one millisecond', () => {
    const at = Date.now();
    const ids = Array.from({ length: 1000 }, () => newId('reward', at));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    }
  });

  it('sorts by creation time across milliseconds', () => {
    // The factory is monotonic per process: use times later than any used above.
    const base = Date.now() + 10 * 60_000;
    const earlier = newId('payout', base);
    const later = newId('payout', base + 1);
    expect(decodeTime(earlier.slice(3))).toBe(base);
    expect(decodeTime(later.slice(3))).toBe(base + 1);
    expect([later, earlier].sort()).toEqual([earlier, later]);
  });
});

describe('isId', () => {
  const ulid = newId('partner').slice(3);

  it.each<[string, IdKind, string]>([
    ['another kind', 'partner', `rw_${ulid}`],
    ['no prefix', 'partner', ulid],
    ['an empty string', 'partner', ''],
    ['only the prefix', 'partner', 'pt_'],
    ['an upper-case prefix', 'partner', `PT_${ulid}`],
    ['a dash instead of the underscore', 'partner', `pt-${ulid}`],
    ['a short ULID', 'partner', `pt_${ulid.slice(1)}`],
    ['a long ULID', 'partner', `pt_${ulid}0`],
    ['a lower-case ULID', 'partner', `pt_${ulid.toLowerCase()}`],
    ['the letter I', 'reward', `rw_${ulid.slice(0, 25)}I`],
    ['the letter L', 'reward', `rw_${ulid.slice(0, 25)}L`],
    ['the letter O', 'reward', `rw_${ulid.slice(0, 25)}O`],
    ['the letter U', 'reward', `rw_${ulid.slice(0, 25)}U`],
    ['leading garbage', 'payout', `xpo_${ulid}`],
    ['trailing whitespace', 'payout', `po_${ulid} `],
    ['a trailing newline', 'payout', `po_${ulid}\n`],
    ['a run prefix used for a reward', 'reward', `run_${ulid}`],
    ['a path traversal', 'export', `ex_../${ulid.slice(3)}`],
  ])('refuses %s', (_name, kind, value) => {
    expect(isId(kind, value)).toBe(false);
  });

  it('tells every kind from every other', () => {
    for (const kind of KINDS) {
      const id = newId(kind);
      for (const other of KINDS) expect(isId(other, id)).toBe(other === kind);
    }
  });
});
