/** E-mail through SES v2 (on AWS; locally `npm start` answers the same API and writes .eml files). */
import type { Email } from '../domain/notifications.ts';
import { sendEmail as sendSesEmail } from './aws/ses.ts';

export async function sendEmail(email: Email, from: string): Promise<void> {
  await sendSesEmail({
    FromEmailAddress: from,
    Destination: { ToAddresses: [email.to] },
    Content: {
      Simple: {
        Subject: { Data: email.subject, Charset: 'UTF-8' },
        Body: {
          Text: { Data: email.text, Charset: 'UTF-8' },
          Html: { Data: email.html, Charset: 'UTF-8' },
        },
      },
    },
  });
}
