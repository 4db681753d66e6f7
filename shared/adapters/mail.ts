/** E-mail through SES v2 (on AWS; locally `npm start` answers the same API and writes .eml files). */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { contentFromText, renderEmailHtml } from '../domain/email-html.ts';
import type { Email } from '../domain/notifications.ts';
import { ses } from './clients.ts';

export async function sendEmail(email: Email, from: string): Promise<void> {
  await ses().send(
    new SendEmailCommand({
      FromEmailAddress: from,
      Destination: { ToAddresses: [email.to] },
      Content: {
        Simple: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: email.text, Charset: 'UTF-8' },
            // Every e-mail has an HTML part: from its own template, or laid out from its text.
            Html: {
              Data: email.html ?? renderEmailHtml(contentFromText(email.subject, email.text)),
              Charset: 'UTF-8',
            },
          },
        },
      },
    }),
  );
}
