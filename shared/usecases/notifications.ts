/** Turns a domain event from the bus into the e-mail it calls for, and sends it. */
import { sendEmail } from '../adapters/mail.ts';
import { findPartnerItem as findPartner } from '../adapters/partner-store.ts';
import { CONTROL_EVENT_TYPES, controlEmailFor } from '../domain/control-notifications.ts';
import { emailsFor } from '../domain/notifications.ts';
import type { Payout, PayoutEvent } from '../domain/schemas.ts';

export interface NotificationSettings {
  mailFrom: string;
  managerEmail: string;
  portalUrl: string;
}

export async function notify(
  type: string,
  detail: Payout & { event?: PayoutEvent },
  settings: NotificationSettings,
): Promise<'sent' | 'skipped'> {
  const partner = await findPartner(detail.partnerId);
  if (!partner) return 'skipped';
  if ((CONTROL_EVENT_TYPES as readonly string[]).includes(type)) {
    const control = controlEmailFor({
      type,
      partner,
      portalUrl: settings.portalUrl,
      detail: detail as unknown as Record<string, unknown>,
    });
    if (!control) return 'skipped';
    await sendEmail(control, settings.mailFrom);
    return 'sent';
  }
  const emails = emailsFor({
    type,
    payout: detail,
    partner,
    managerEmail: settings.managerEmail,
    portalUrl: settings.portalUrl,
    data: detail.event?.data,
    from: detail.event?.from,
  });
  if (emails.length === 0) return 'skipped';
  for (const email of emails) await sendEmail(email, settings.mailFrom);
  return 'sent';
}
