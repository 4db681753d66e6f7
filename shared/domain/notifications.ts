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
  'payout.failed',
  'payout.reissued',
  'payout.processing_reminder',
  // The controls' partner e-mails (./control-notifications.ts).
  'hold.placed',
  'partner.payout_method_changed',
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
  const partnerLink = `${portalUrl.replace(/\/$/, '')}/payouts/${payout.id}`;
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
    case 'payout.failed': {
      const failure = (input.data?.failure ?? {}) as { code?: string; reason?: string; returned?: boolean };
      const explanation =
        text(input.data?.explanation) ?? text(failure.reason) ?? 'The bank could not complete the payment.';
      return {
        to: partner.email,
        subject: failure.returned
          ? `Your payout of ${amount} came back from your bank`
          : `Your payout of ${amount} could not be paid`,
        text: [
          hello,
          '',
          failure.returned
            ? `The transfer of your payout of ${amount} was returned by the bank.`
            : `We could not pay your payout of ${amount}.`,
          `Why: ${explanation}${failure.code ? ` (bank reason code ${failure.code})` : ''}`,
          ...(text(failure.reason) && text(failure.reason) !== explanation
            ? [`Details: ${failure.reason}`]
            : []),
          '',
          'Please check your payout details (account holder, IBAN, BIC) in the portal and correct them if needed.',
          'We will send the payout again; its rewards are not lost.',
          '',
          partnerLink,
        ].join('\n'),
      };
    }
    case 'payout.reissued':
      return {
        to: partner.email,
        subject: `Your payout of ${amount} will be sent again`,
        text: [
          hello,
          '',
          `Your payout of ${amount} that could not be paid has been issued again, to your current payout details.`,
          '',
          partnerLink,
        ].join('\n'),
      };
    case 'payout.processing_reminder':
      return {
        to: input.managerEmail,
        subject: `Payout ${payout.id} of ${amount} has had no outcome for ${String(input.data?.days ?? 'several')} days`,
        text: [
          `Payout ${payout.id} of ${amount} to ${partner.name} was exported${payout.exportId ? ` in ${payout.exportId}` : ''} and has had no outcome since.`,
          'Check the bank reports, or mark it paid or failed.',
          '',
          managerLink,
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

/** The manager's copy of an event that also e-mails the partner (a failed payout), or undefined. */
export function managerEmailFor(input: NotificationInput): Email | undefined {
  if (input.type !== 'payout.failed') return undefined;
  const { payout, partner, portalUrl } = input;
  const amount = displayMinor(payout.amount, payout.currency);
  const failure = (input.data?.failure ?? {}) as {
    code?: string;
    reason?: string;
    returned?: boolean;
    source?: string;
  };
  return {
    to: input.managerEmail,
    subject: `Payout ${payout.id} of ${amount} to ${partner.name} ${failure.returned ? 'was returned' : 'failed'}`,
    text: [
      `Payout ${payout.id} of ${amount} to ${partner.name} ${failure.returned ? 'was returned by the bank' : 'failed'}${failure.source === 'manual' ? ' (marked by hand)' : ''}.`,
      `Reason: ${text(failure.reason) ?? 'none given'}${failure.code ? ` (${failure.code})` : ''}`,
      'The partner was asked to check their payout details. Reissue the payout once they have, or cancel it to release its rewards.',
      '',
      `${portalUrl.replace(/\/$/, '')}/manage/payouts/${payout.id}`,
    ].join('\n'),
  };
}

/** Every e-mail an event calls for. */
export function emailsFor(input: NotificationInput): Email[] {
  return [emailFor(input), managerEmailFor(input)].filter((email): email is Email => email !== undefined);
}
