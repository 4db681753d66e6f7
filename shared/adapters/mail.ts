/** E-mail through SES v2 (on AWS; locally `npm start` answers the same API and writes .eml files). */
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Email } from '../domain/notifications.ts';

let client: SESv2Client | undefined;
let sdk: typeof import('@aws-sdk/client-sesv2') | undefined;

export async function sendEmail(email: Email, from: string): Promise<void> {
  sdk ??= await import('@aws-sdk/client-sesv2');
  client ??= new sdk.SESv2Client({ maxAttempts: 3 });
  await client.send(
    new sdk.SendEmailCommand({
      FromEmailAddress: from,
      Destination: { ToAddresses: [email.to] },
      Content: {
        Simple: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: email.text, Charset: 'UTF-8' } },
        },
      },
    }),
  );
}
