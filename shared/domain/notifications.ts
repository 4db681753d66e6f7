/**
 * Which domain events e-mail whom, and what the e-mails say. Pure: the notifier Lambda fetches the
 * partner and sends; the CDK rule and the local bus route exactly these event types to it.
 */
import { displayMinor } from './money.ts';
import type { Payout } from './schemas.ts';

export const NOTIFIED_EVENT_TYPES = [
  'payout.validated',
  'payout.reminder',
  'payout.paid',
  'payout.partner_validated',
  'payout.changes_requested',
  'payout.invoice_rejected',
  'payout.cancelled',
] as const;
export type NotifiedEventType = (typeof NOTIFIED_EVENT_TYPES)[number];

export interface Email {
  to: string;
  subject: string;
  text: string;
}

export interface NotificationInput {
  type: string;
  payout: Payout;
  partner: { name: string; email: string };
  managerEmail: string;
  portalUrl: string;
  data?: Record<string, unknown>;
  /** The status the payout left, for transitions. */
  from?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}

/** The e-mail for an event, or undefined when the event e-mails nobody. */
export function emailFor(input: NotificationInput): Email | undefined {
  const { payout, partner, portalUrl } = input;
  const amount = displayMinor(payout.amount, payout.currency);
  const partnerLink = `${portalUrl.replace(/\/$/, '')}/portal/payouts/${payout.id}`;
  const managerLink = `${portalUrl.replace(/\/$/, '')}/manage/payouts/${payout.id}`;
  const hello = `Hello ${partner.name},`;
  switch (input.type) {
    case 'payout.validated': {
      const steps = [
        payout.requirements.invoice ? '- upload your invoice (PDF)' : undefined,
        payout.requirements.rewardReview ? '- review each reward (approve or dispute)' : undefined,
        '- validate the payout',
      ].filter(Boolean);
      return {
        to: partner.email,
        subject: `Your payout of ${amount} is ready for your review`,
        text: [
          hello,
          '',
          `A payout of ${amount} (${payout.rewardCount} ${payout.rewardCount === 1 ? 'reward' : 'rewards'}) awaits your validation.`,
          ...(payout.message ? ['', `Message from the team: ${payout.message}`] : []),
          '',
          'To be paid, please:',
          ...steps,
          '',
          partnerLink,
        ].join('\n'),
      };
    }
    case 'payout.reminder':
      return {
        to: partner.email,
        subject: `Reminder: your payout of ${amount} is waiting for you`,
        text: [hello, '', `Your payout of ${amount} still awaits your validation.`, '', partnerLink].join(
          '\n',
        ),
      };
    case 'payout.paid':
      return {
        to: partner.email,
        subject: `Your payout of ${amount} has been paid`,
        text: [
          hello,
          '',
          `We have paid your payout of ${amount}.`,
          ...(payout.paymentReference ? [`Payment reference: ${payout.paymentReference}`] : []),
          '',
          partnerLink,
        ].join('\n'),
      };
    case 'payout.invoice_rejected':
      return {
        to: partner.email,
        subject: `Your invoice for the payout of ${amount} was not accepted`,
        text: [
          hello,
          '',
          `Your invoice could not be accepted: ${text(input.data?.reason) ?? 'no reason given'}.`,
          'Please upload a new one.',
          '',
          partnerLink,
        ].join('\n'),
      };
    case 'payout.cancelled':
      // A draft was never shown to the partner: nothing to tell.
      if (input.from === 'draft' || input.from === undefined) return undefined;
      return {
        to: partner.email,
        subject: `Your payout of ${amount} was cancelled`,
        text: [
          hello,
          '',
          `Your payout of ${amount} was cancelled${text(input.data?.reason) ? `: ${text(input.data?.reason)}` : '.'}`,
          'Its rewards will be paid in a later payout.',
          '',
          partnerLink,
        ].join('\n'),
      };
    case 'payout.partner_validated':
      return {
        to: input.managerEmail,
        subject: `${partner.name} validated a payout of ${amount}`,
        text: [
          `${partner.name} validated payout ${payout.id} of ${amount}. It is ready to pay.`,
          '',
          managerLink,
        ].join('\n'),
      };
    case 'payout.changes_requested':
      return {
        to: input.managerEmail,
        subject: `${partner.name} requested changes to a payout of ${amount}`,
        text: [
          `${partner.name} sent payout ${payout.id} of ${amount} back to draft.`,
          '',
          `Comment: ${text(input.data?.comment) ?? '(none)'}`,
          '',
          managerLink,
        ].join('\n'),
      };
    default:
      return undefined;
  }
}
