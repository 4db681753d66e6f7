/**
 * The e-mails of the controls: the partner hears of a hold (its partner message, never the reason)
 * and of every change of their payout method (the security notice every bank sends); finance and
 * program managers get a daily digest of what waits for them. Pure.
 */
import type { Email } from './notifications.ts';

export const CONTROL_EVENT_TYPES = ['hold.placed', 'partner.payout_method_changed'] as const;

export interface ControlEmailInput {
  type: string;
  partner: { name: string; email: string };
  portalUrl: string;
  detail: Record<string, unknown>;
}

function describe(method: unknown): string {
  if (!method || typeof method !== 'object') return 'none';
  const fields = method as Record<string, string>;
  return [fields.type, fields.accountHolder, fields.iban, fields.email].filter(Boolean).join(', ');
}

export function controlEmailFor(input: ControlEmailInput): Email | undefined {
  const { partner, detail } = input;
  const hello = `Hello ${partner.name},`;
  const profile = `${input.portalUrl.replace(/\/$/, '')}/profile`;
  switch (input.type) {
    case 'hold.placed': {
      const message = typeof detail.partnerMessage === 'string' ? detail.partnerMessage : undefined;
      if (!message) return undefined;
      return {
        to: partner.email,
        subject: 'Your payouts are on hold',
        text: [hello, '', message, '', 'Your payouts will continue once this is resolved.', '', profile].join(
          '\n',
        ),
      };
    }
    case 'partner.payout_method_changed': {
      const event = (detail.event ?? {}) as { at?: string; data?: { from?: unknown; to?: unknown } };
      return {
        to: partner.email,
        subject: 'Your payout details were changed',
        text: [
          hello,
          '',
          `Your payout details were changed${event.at ? ` on ${event.at}` : ''}.`,
          `Before: ${describe(event.data?.from)}`,
          `Now: ${describe(event.data?.to)}`,
          '',
          'If you did not make this change, contact us at once: payouts to the new details are held until we have checked it.',
          '',
          profile,
        ].join('\n'),
      };
    }
    default:
      return undefined;
  }
}

export interface DigestInput {
  approvals: { id: string; partnerId: string; amount: string }[];
  holdsDue: { id: string; scope: string; targetId: string; reasonCode: string; reviewBy: string }[];
  financeEmail: string;
  programManagersEmail: string;
  portalUrl: string;
}

/** The daily e-mails: one to finance when approvals wait, one to program managers when holds are due. */
export function digestEmails(input: DigestInput): Email[] {
  const base = input.portalUrl.replace(/\/$/, '');
  const emails: Email[] = [];
  if (input.approvals.length > 0) {
    emails.push({
      to: input.financeEmail,
      subject: `${input.approvals.length} payout(s) wait for your approval`,
      text: [
        'These payouts are at or above the approval threshold and wait for a second approver:',
        '',
        ...input.approvals.map((payout) => `- ${payout.id} (${payout.partnerId}): ${payout.amount}`),
        '',
        `${base}/manage/payouts?needsApproval=true`,
      ].join('\n'),
    });
  }
  if (input.holdsDue.length > 0) {
    emails.push({
      to: input.programManagersEmail,
      subject: `${input.holdsDue.length} hold(s) are due for review`,
      text: [
        'These holds are past their review date:',
        '',
        ...input.holdsDue.map(
          (hold) =>
            `- ${hold.id}: ${hold.scope} ${hold.targetId}, ${hold.reasonCode}, review by ${hold.reviewBy}`,
        ),
        '',
        `${base}/manage/holds?dueForReview=true`,
      ].join('\n'),
    });
  }
  return emails;
}
