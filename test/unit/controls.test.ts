/** The pure rules of the controls: thresholds, what an approval is bound to, what a hold covers, the e-mails. */
import { describe, expect, it } from 'vitest';
import { controlEmailFor, digestEmails } from '../../shared/domain/control-notifications.ts';
import { HoldQuery } from '../../shared/domain/control-requests.ts';
import {
  approvalHash,
  type HoldFacts,
  holdsOnPayout,
  holdsOnReward,
  holdView,
  isApproved,
  isBadAccountFailure,
  needsApproval,
  parseThresholds,
} from '../../shared/domain/controls.ts';

describe('approval thresholds', () => {
  it('parses CUR:minor pairs and refuses anything else', () => {
    expect([...parseThresholds('EUR:100000, USD:5')]).toEqual([
      ['EUR', 100000],
      ['USD', 5],
    ]);
    expect(parseThresholds('')).toEqual(new Map());
    for (const bad of ['EUR', 'EUR:-1', 'XXX:1', 'eur:1', 'EUR:1.5'])
      expect(() => parseThresholds(bad)).toThrow();
  });

  it.each([
    [99_999, false],
    [100_000, true],
    [100_001, true],
  ])('EUR %i needs an approval: %s (at or above)', (amount, expected) => {
    expect(needsApproval({ amount, currency: 'EUR' }, parseThresholds('EUR:100000'))).toBe(expected);
  });

  it('a currency without a threshold never needs one', () => {
    expect(needsApproval({ amount: 10 ** 12, currency: 'JPY' }, parseThresholds('EUR:1'))).toBe(false);
  });
});

describe('what an approval is bound to', () => {
  const content = {
    amount: 150_000,
    currency: 'EUR',
    rewardIds: ['rw_b', 'rw_a'],
    payoutMethod: { type: 'sepa', accountHolder: 'Ana', iban: 'DE89370400440532013000' },
  };
  const approval = { by: 'fin', at: '2026-01-01T00:00:00.000Z', hash: approvalHash(content) };

  it('holds for the same content, whatever the order of rewards or keys', () => {
    expect(isApproved(approval, { ...content, rewardIds: ['rw_a', 'rw_b'] })).toBe(true);
    expect(
      isApproved(approval, {
        ...content,
        payoutMethod: { iban: 'DE89370400440532013000', accountHolder: 'Ana', type: 'sepa' },
      }),
    ).toBe(true);
  });

  it.each([
    ['the amount', { amount: 150_001 }],
    ['the currency', { currency: 'USD' }],
    ['a reward', { rewardIds: ['rw_a'] }],
    ['the IBAN', { payoutMethod: { ...content.payoutMethod, iban: 'GB33BUKB20201555555555' } }],
    ['the holder', { payoutMethod: { ...content.payoutMethod, accountHolder: 'Someone Else' } }],
    ['no method', { payoutMethod: null }],
  ])('is voided by a change of %s', (_what, change) => {
    expect(isApproved(approval, { ...content, ...change })).toBe(false);
  });

  it('is absent when there is none', () => {
    expect(isApproved(undefined, content)).toBe(false);
  });
});

describe('what a hold covers', () => {
  const hold = (over: Partial<HoldFacts>): HoldFacts => ({
    id: 'hold_1',
    scope: 'partner',
    targetId: 'pt_1',
    partnerId: 'pt_1',
    reasonCode: 'OTHER',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  });
  const payout = { id: 'po_1', partnerId: 'pt_1' };
  const reward = { id: 'rw_1', partnerId: 'pt_1' };

  it.each([
    ['a partner hold covers the payout and the reward', hold({}), true, true],
    ['a payout hold covers that payout only', hold({ scope: 'payout', targetId: 'po_1' }), true, false],
    ['a reward hold covers that reward only', hold({ scope: 'reward', targetId: 'rw_1' }), false, true],
    ['another payout’s hold covers neither', hold({ scope: 'payout', targetId: 'po_2' }), false, false],
    ['another partner’s hold covers neither', hold({ targetId: 'pt_2', partnerId: 'pt_2' }), false, false],
    ['a released hold covers nothing', hold({ resolution: 'released' }), false, false],
    ['a confirmed hold covers nothing', hold({ resolution: 'confirmed' }), false, false],
  ])('%s', (_name, facts, onPayout, onReward) => {
    expect(holdsOnPayout([facts], payout).length > 0).toBe(onPayout);
    expect(holdsOnReward([facts], reward).length > 0).toBe(onReward);
  });

  it('shows the newest partner message, never the reason; nothing when not held', () => {
    expect(holdView([])).toBeUndefined();
    expect(holdView([hold({ note: 'internal' } as never)])).toEqual({});
    expect(
      holdView([
        hold({ partnerMessage: 'old', createdAt: '2026-01-01T00:00:00.000Z' }),
        hold({ id: 'hold_2', partnerMessage: 'new', createdAt: '2026-02-01T00:00:00.000Z' }),
        hold({ id: 'hold_3', createdAt: '2026-03-01T00:00:00.000Z' }),
      ]),
    ).toEqual({ partnerMessage: 'new' });
  });

  it.each([
    ['AC01', true],
    ['AC04', true],
    ['ac06', true],
    ['AM04', false],
    ['MD07', false],
    ['MS03', false],
    [undefined, false],
  ])('a failure %s is a bad account: %s', (code, expected) => {
    expect(isBadAccountFailure(code)).toBe(expected);
  });

  it('reads ?active as true, and true/false/1/0', () => {
    expect(HoldQuery.parse({ active: '' }).active).toBe(true);
    expect(HoldQuery.parse({ active: 'false' }).active).toBe(false);
    expect(HoldQuery.parse({ active: '1' }).active).toBe(true);
    expect(HoldQuery.safeParse({ active: 'yes' }).success).toBe(false);
  });
});

describe('the controls’ e-mails', () => {
  const partner = { name: 'Ana', email: 'ana@example.com' };
  it('tells the partner the hold’s message only, and nothing without one', () => {
    const email = controlEmailFor({
      type: 'hold.placed',
      partner,
      portalUrl: 'https://p',
      detail: {
        partnerMessage: 'Please send your tax form.',
        reasonCode: 'TAX_FORM_MISSING',
        note: 'secret',
      },
    });
    expect(email?.to).toBe('ana@example.com');
    expect(email?.text).toContain('Please send your tax form.');
    expect(email?.text).not.toMatch(/TAX_FORM_MISSING|secret/);
    expect(
      controlEmailFor({ type: 'hold.placed', partner, portalUrl: 'https://p', detail: {} }),
    ).toBeUndefined();
  });

  it('sends the security notice of a payout-method change', () => {
    const email = controlEmailFor({
      type: 'partner.payout_method_changed',
      partner,
      portalUrl: 'https://p',
      detail: {
        event: {
          at: '2026-01-01T00:00:00.000Z',
          data: { from: { type: 'sepa', iban: '…3000' }, to: { type: 'paypal' } },
        },
      },
    });
    expect(email?.subject).toBe('Your payout details were changed');
    expect(email?.text).toContain('…3000');
  });

  it('sends the digest only for what waits', () => {
    const base = { financeEmail: 'f@x', programManagersEmail: 'pm@x', portalUrl: 'https://p' };
    expect(digestEmails({ ...base, approvals: [], holdsDue: [] })).toEqual([]);
    const emails = digestEmails({
      ...base,
      approvals: [{ id: 'po_1', partnerId: 'pt_1', amount: '€1,500.00' }],
      holdsDue: [],
    });
    expect(emails.map((email) => email.to)).toEqual(['f@x']);
    expect(emails[0]?.text).toContain('po_1');
  });
});
