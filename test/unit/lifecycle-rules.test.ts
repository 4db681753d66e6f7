/** The pure rules of the lifecycle after `ready`: EndToEndIds, reason codes, the return window, reissue. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  endToEndIdFor,
  exportIdOfMessageId,
  MAX_EXPORT_SEQUENCE,
  parseEndToEndId,
} from '../../shared/domain/end-to-end.ts';
import { InvalidTransition } from '../../shared/domain/errors.ts';
import { newId } from '../../shared/domain/ids.ts';
import { emailsFor } from '../../shared/domain/notifications.ts';
import { checkManualFailure, checkNotReissued, isFinished } from '../../shared/domain/payout-rules.ts';
import { KNOWN_REASON_CODES, reasonText } from '../../shared/domain/reason-codes.ts';
import { sepaId } from '../../shared/exports/text.ts';

const DAY = 24 * 3600 * 1000;

describe('EndToEndId', () => {
  it('is the payout id and the export sequence, within the SEPA identifier rules and 35 characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_EXPORT_SEQUENCE }), (sequence) => {
        const payoutId = newId('payout');
        const id = endToEndIdFor(payoutId, sequence);
        expect(id.length).toBeLessThanOrEqual(35);
        expect(sepaId(id)).toBe(id);
        expect(id).toMatch(/^[A-Za-z0-9-]+$/);
        expect(parseEndToEndId(id)).toEqual({ payoutId, sequence });
      }),
    );
  });

  it('differs for the same payout in two exports', () => {
    const payoutId = newId('payout');
    expect(endToEndIdFor(payoutId, 7)).not.toBe(endToEndIdFor(payoutId, 8));
  });

  it('refuses a sequence that does not fit, and reads nothing from a foreign id', () => {
    for (const sequence of [0, -1, 1.5, MAX_EXPORT_SEQUENCE + 1]) {
      expect(() => endToEndIdFor(newId('payout'), sequence)).toThrow(RangeError);
    }
    for (const id of [
      'NOTPROVIDED',
      'po-123-1',
      `${newId('payout')}-1`,
      'po-01ARZ3NDEKTSV4RRFFQ69G5FAV-',
      '',
    ]) {
      expect(parseEndToEndId(id)).toBeUndefined();
    }
  });

  it('maps a MsgId or PmtInfId back to the export', () => {
    const exportId = newId('export');
    expect(exportIdOfMessageId(sepaId(exportId))).toBe(exportId);
    expect(exportIdOfMessageId(sepaId(`${sepaId(exportId)}-1`))).toBe(exportId);
    expect(exportIdOfMessageId('MSG-1')).toBeUndefined();
  });
});

describe('reason codes', () => {
  it('maps every listed ISO 20022 code to a plain text', () => {
    for (const code of ['AC01', 'AC04', 'AC06', 'AG01', 'AM04', 'AM05', 'BE04', 'MD07', 'MS02', 'MS03']) {
      expect(KNOWN_REASON_CODES).toContain(code);
    }
    for (const code of ['RC01', 'RR01', 'RR02', 'RR03', 'RR04', 'FOCR', 'CUST']) {
      expect(KNOWN_REASON_CODES).toContain(code);
    }
    expect(reasonText('AC04')).toEqual({
      code: 'AC04',
      text: 'The account has been closed.',
      checkDetails: true,
    });
    expect(reasonText(' ac01 ').code).toBe('AC01');
  });

  it('keeps an unknown code with a generic text, and has a text without a code', () => {
    expect(reasonText('ZZ99')).toEqual({
      code: 'ZZ99',
      text: 'The bank could not complete the payment. (reason code ZZ99)',
      checkDetails: true,
    });
    expect(reasonText(undefined)).toEqual({
      text: 'The bank could not complete the payment.',
      checkDetails: true,
    });
  });
});

describe('manual failure and the return window', () => {
  const now = Date.parse('2026-11-30T00:00:00.000Z');
  it('allows processing always, paid within the window as a return', () => {
    expect(checkManualFailure({ status: 'processing' }, now, 30)).toEqual({ returned: false });
    expect(
      checkManualFailure({ status: 'paid', paidAt: new Date(now - 30 * DAY).toISOString() }, now, 30),
    ).toEqual({ returned: true });
  });

  it('refuses paid outside the window, and every other status', () => {
    expect(() =>
      checkManualFailure({ status: 'paid', paidAt: new Date(now - 30 * DAY - 1).toISOString() }, now, 30),
    ).toThrow(InvalidTransition);
    expect(() => checkManualFailure({ status: 'paid' }, now, 30)).toThrow(InvalidTransition);
    for (const status of ['draft', 'pending', 'ready', 'failed', 'cancelled'] as const) {
      expect(() => checkManualFailure({ status }, now, 30)).toThrow(InvalidTransition);
    }
  });

  it('reissue and cancel refuse a reissued payout; a reissued failed payout is finished', () => {
    expect(() => checkNotReissued({ status: 'failed' }, 'reissue')).not.toThrow();
    expect(() => checkNotReissued({ status: 'failed', reissuedAs: 'po_x' }, 'reissue')).toThrow(
      InvalidTransition,
    );
    expect(() => checkNotReissued({ status: 'failed', reissuedAs: 'po_x' }, 'cancel')).toThrow(
      InvalidTransition,
    );
    expect(() => checkNotReissued({ status: 'ready' }, 'reissue')).toThrow(InvalidTransition);
    expect(isFinished({ status: 'failed' })).toBe(false);
    expect(isFinished({ status: 'failed', reissuedAs: 'po_x' })).toBe(true);
    expect(isFinished({ status: 'processing' })).toBe(false);
    expect(isFinished({ status: 'paid' })).toBe(true);
  });
});

describe('e-mails of a failed payout', () => {
  it('tells the partner why in plain words and asks to check the details; the manager too', () => {
    const payout = {
      id: newId('payout'),
      partnerId: newId('partner'),
      currency: 'EUR',
      status: 'failed' as const,
      amount: 12_345,
      rewardCount: 1,
      requirements: { invoice: false, rewardReview: false },
      createdAt: '2026-11-01T00:00:00.000Z',
      updatedAt: '2026-11-01T00:00:00.000Z',
      version: 5,
    };
    const emails = emailsFor({
      type: 'payout.failed',
      payout,
      partner: { name: 'Ana', email: 'ana@example.com' },
      managerEmail: 'finance@example.com',
      portalUrl: 'https://partners.example.com',
      data: {
        failure: {
          code: 'AC04',
          reason: 'The account has been closed.',
          source: 'bank_report',
          returned: false,
        },
        explanation: 'The account has been closed.',
      },
    });
    expect(emails.map((email) => email.to)).toEqual(['ana@example.com', 'finance@example.com']);
    expect(emails[0]?.text).toContain('Why: The account has been closed. (bank reason code AC04)');
    expect(emails[0]?.text).toContain('check your payout details');
    expect(emails[1]?.subject).toBe(`Payout ${payout.id} of €123.45 to Ana failed`);
  });
});
