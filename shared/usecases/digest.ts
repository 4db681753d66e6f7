/**
 * The daily e-mail of the controls: finance hears which payouts wait for a second approver, program
 * managers which holds are past their review date — each only when anything waits.
 */
import { activeHolds } from '../adapters/hold-store.ts';
import { sendEmail } from '../adapters/mail.ts';
import { digestEmails } from '../domain/control-notifications.ts';
import { displayMinor } from '../domain/money.ts';
import type { Payout } from '../domain/schemas.ts';
import { listPayoutsNeedingApproval } from './approvals.ts';

export interface DigestSettings {
  mailFrom: string;
  financeEmail: string;
  programManagersEmail: string;
  portalUrl: string;
}

/** Cap on the payouts one e-mail lists (the link lists them all). */
const MAX_LISTED = 200;

export async function sendControlsDigest(
  settings: DigestSettings,
): Promise<{ approvals: number; holdsDue: number; sent: number }> {
  const waiting: Payout[] = [];
  let cursor: string | undefined;
  do {
    const page = await listPayoutsNeedingApproval({ limit: 100, cursor });
    waiting.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && waiting.length < MAX_LISTED);
  const due = (await activeHolds()).filter((hold) => hold.dueForReview);
  const emails = digestEmails({
    approvals: waiting.slice(0, MAX_LISTED).map((payout) => ({
      id: payout.id,
      partnerId: payout.partnerId,
      amount: displayMinor(payout.amount, payout.currency),
    })),
    holdsDue: due.map((hold) => ({
      id: hold.id,
      scope: hold.scope,
      targetId: hold.targetId,
      reasonCode: hold.reasonCode,
      reviewBy: hold.reviewBy ?? '',
    })),
    financeEmail: settings.financeEmail,
    programManagersEmail: settings.programManagersEmail,
    portalUrl: settings.portalUrl,
  });
  for (const email of emails) await sendEmail(email, settings.mailFrom);
  return { approvals: waiting.length, holdsDue: due.length, sent: emails.length };
}
