/**
 * E-mails (shared/domain/notifications.ts + email-html.ts): each has a plain-text and an HTML part
 * with the same facts and the console's link for the payout; the HTML escapes what people typed and
 * loads nothing remote.
 */
import { describe, expect, it } from 'vitest';
import { CONTROL_EVENT_TYPES } from '../../shared/domain/control-notifications.ts';
import { emailFor, NOTIFIED_EVENT_TYPES } from '../../shared/domain/notifications.ts';
import type { Payout } from '../../shared/domain/schemas.ts';

const payout = {
  id: 'po_01JZ0000000000000000000000',
  partnerId: 'pt_01JZ0000000000000000000000',
  currency: 'BHD',
  status: 'pending',
  amount: 1250,
  rewardCount: 2,
  requirements: { invoice: true, rewardReview: false },
  message: 'Thanks <b>& welcome</b>',
  paymentReference: 'REF-1',
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-01T00:00:00.000Z',
  version: 3,
} as Payout;

const input = (type: string) => ({
  type,
  payout,
  partner: { name: 'Ana <script>alert(1)</script> Müller', email: 'ana@example.com' },
  managerEmail: 'finance@example.com',
  portalUrl: 'http://127.0.0.1:4321/',
  data: { reason: 'not a PDF file', comment: 'Missing "October" sales' },
  from: 'pending',
});

describe('e-mails', () => {
  // The controls' e-mails (holds, payout-method changes) are written by control-notifications.ts.
  const payoutTypes = NOTIFIED_EVENT_TYPES.filter(
    (type) => !(CONTROL_EVENT_TYPES as readonly string[]).includes(type),
  );
  it.each(payoutTypes)('%s: a text and an HTML part with the same facts and link', (type) => {
    const email = emailFor(input(type));
    expect(email).toBeDefined();
    if (!email) return;
    const link = email.text.split('\n').at(-1) ?? '';
    const manager = [
      'payout.partner_validated',
      'payout.changes_requested',
      'payout.processing_reminder',
    ].includes(type);
    expect(link).toBe(`http://127.0.0.1:4321/${manager ? 'manage' : 'portal'}/payouts/${payout.id}`);
    expect(email.html).toContain(`href="${link}"`);
    expect(`${email.subject}\n${email.text}`).toMatch(/BHD\s1\.250/);
    expect(email.html).toMatch(/BHD\s1\.250/);
    // Escaped: no markup from a partner's name, a message or a reason reaches the HTML.
    expect(email.html).not.toContain('<script');
    expect(email.html).not.toContain('<b>');
    expect(email.html).not.toMatch(/<img|src=|url\(/i);
    expect(email.html).toMatch(/^<!DOCTYPE html>/);
  });

  it('lists the partner’s steps in both parts', () => {
    const email = emailFor(input('payout.validated'));
    expect(email?.text).toContain('- upload your invoice (PDF)\n- validate the payout');
    expect(email?.html).toContain('<li style="margin:0 0 4px 0;">upload your invoice (PDF)</li>');
    expect(email?.html).toContain('Thanks &lt;b&gt;&amp; welcome&lt;/b&gt;');
    expect(email?.text).toContain('Message from the team: Thanks <b>& welcome</b>');
  });
});
