/**
 * Which domain events e-mail whom, and what the e-mails say. Pure: the notifier Lambda fetches the
 * partner and sends; the CDK rule and the local bus route exactly these event types to it.
 */
import { type EmailContent, renderEmailHtml, renderEmailText } from './email-html.ts';
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
  /** The same facts as `text`, laid out for mail clients (rendered from `text` when absent). */
  html?: string;
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
  const mail = contentFor(input);
  if (!mail) return undefined;
  const { to, ...content } = mail;
  return { to, subject: content.subject, text: renderEmailText(content), html: renderEmailHtml(content) };
}

/** What each e-mail says, once: both parts are rendered from it (./email-html.ts). */
function contentFor(input: NotificationInput): (EmailContent & { to: string }) | undefined {
  const { payout, partner, portalUrl } = input;
  const amount = displayMinor(payout.amount, payout.currency);
  // The console's pages for this payout (web/: /portal for partners, /manage for managers).
  const partnerLink = `${portalUrl.replace(/\/$/, '')}/portal/payouts/${payout.id}`;
  const managerLink = `${portalUrl.replace(/\/$/, '')}/manage/payouts/${payout.id}`;
  const toPartner = { to: partner.email, greeting: `Hello ${partner.name},`, link: partnerLink };
  const toManager = { to: input.managerEmail, link: managerLink, action: 'Open the payout' };
  switch (input.type) {
    case 'payout.validated': {
      const steps = [
        payout.requirements.invoice ? 'upload your invoice (PDF)' : undefined,
        payout.requirements.rewardReview ? 'review each reward (approve or dispute)' : undefined,
        'validate the payout',
      ].filter((step): step is string => step !== undefined);
      return {
        ...toPartner,
        subject: `Your payout of ${amount} is ready for your review`,
        paragraphs: [
          `A payout of ${amount} (${payout.rewardCount} ${payout.rewardCount === 1 ? 'reward' : 'rewards'}) awaits your validation.`,
          ...(payout.message ? [`Message from the team: ${payout.message}`] : []),
        ],
        steps: { intro: 'To be paid, please:', items: steps },
        action: 'Review your payout',
      };
    }
    case 'payout.reminder':
      return {
        ...toPartner,
        subject: `Reminder: your payout of ${amount} is waiting for you`,
        paragraphs: [`Your payout of ${amount} still awaits your validation.`],
        action: 'Review your payout',
      };
    case 'payout.paid':
      return {
        ...toPartner,
        subject: `Your payout of ${amount} has been paid`,
        paragraphs: [
          `We have paid your payout of ${amount}.`,
          ...(payout.paymentReference ? [`Payment reference: ${payout.paymentReference}`] : []),
        ],
        action: 'See your payout',
      };
    case 'payout.invoice_rejected':
      return {
        ...toPartner,
        subject: `Your invoice for the payout of ${amount} was not accepted`,
        paragraphs: [
          `Your invoice could not be accepted: ${text(input.data?.reason) ?? 'no reason given'}.`,
          'Please upload a new one.',
        ],
        action: 'Upload a new invoice',
      };
    case 'payout.cancelled':
      // A draft was never shown to the partner: nothing to tell.
      if (input.from === 'draft' || input.from === undefined) return undefined;
      return {
        ...toPartner,
        subject: `Your payout of ${amount} was cancelled`,
        paragraphs: [
          `Your payout of ${amount} was cancelled${text(input.data?.reason) ? `: ${text(input.data?.reason)}` : '.'}`,
          'Its rewards will be paid in a later payout.',
        ],
        action: 'See your payout',
      };
    case 'payout.failed': {
      const failure = (input.data?.failure ?? {}) as { code?: string; reason?: string; returned?: boolean };
      const explanation =
        text(input.data?.explanation) ?? text(failure.reason) ?? 'The bank could not complete the payment.';
      return {
        ...toPartner,
        subject: failure.returned
          ? `Your payout of ${amount} came back from your bank`
          : `Your payout of ${amount} could not be paid`,
        paragraphs: [
          [
            failure.returned
              ? `The transfer of your payout of ${amount} was returned by the bank.`
              : `We could not pay your payout of ${amount}.`,
            `Why: ${explanation}${failure.code ? ` (bank reason code ${failure.code})` : ''}`,
            ...(text(failure.reason) && text(failure.reason) !== explanation
              ? [`Details: ${failure.reason}`]
              : []),
          ].join('\n'),
          [
            'Please check your payout details (account holder, IBAN, BIC) in the portal and correct them if needed.',
            'We will send the payout again; its rewards are not lost.',
          ].join('\n'),
        ],
        action: 'Check your payout details',
      };
    }
    case 'payout.reissued':
      return {
        ...toPartner,
        subject: `Your payout of ${amount} will be sent again`,
        paragraphs: [
          `Your payout of ${amount} that could not be paid has been issued again, to your current payout details.`,
        ],
        action: 'See your payout',
      };
    case 'payout.processing_reminder':
      return {
        ...toManager,
        subject: `Payout ${payout.id} of ${amount} has had no outcome for ${String(input.data?.days ?? 'several')} days`,
        paragraphs: [
          [
            `Payout ${payout.id} of ${amount} to ${partner.name} was exported${payout.exportId ? ` in ${payout.exportId}` : ''} and has had no outcome since.`,
            'Check the bank reports, or mark it paid or failed.',
          ].join('\n'),
        ],
      };
    case 'payout.partner_validated':
      return {
        ...toManager,
        subject: `${partner.name} validated a payout of ${amount}`,
        paragraphs: [`${partner.name} validated payout ${payout.id} of ${amount}. It is ready to pay.`],
      };
    case 'payout.changes_requested':
      return {
        ...toManager,
        subject: `${partner.name} requested changes to a payout of ${amount}`,
        paragraphs: [
          `${partner.name} sent payout ${payout.id} of ${amount} back to draft.`,
          `Comment: ${text(input.data?.comment) ?? '(none)'}`,
        ],
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
  const content: EmailContent = {
    subject: `Payout ${payout.id} of ${amount} to ${partner.name} ${failure.returned ? 'was returned' : 'failed'}`,
    paragraphs: [
      [
        `Payout ${payout.id} of ${amount} to ${partner.name} ${failure.returned ? 'was returned by the bank' : 'failed'}${failure.source === 'manual' ? ' (marked by hand)' : ''}.`,
        `Reason: ${text(failure.reason) ?? 'none given'}${failure.code ? ` (${failure.code})` : ''}`,
        'The partner was asked to check their payout details. Reissue the payout once they have, or cancel it to release its rewards.',
      ].join('\n'),
    ],
    link: `${portalUrl.replace(/\/$/, '')}/manage/payouts/${payout.id}`,
    action: 'Open the payout',
  };
  return {
    to: input.managerEmail,
    subject: content.subject,
    text: renderEmailText(content),
    html: renderEmailHtml(content),
  };
}

/** Every e-mail an event calls for. */
export function emailsFor(input: NotificationInput): Email[] {
  return [emailFor(input), managerEmailFor(input)].filter((email): email is Email => email !== undefined);
}
