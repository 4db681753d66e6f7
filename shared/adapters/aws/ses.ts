/**
 * SES v2 SendEmail (REST JSON: `POST /v2/email/outbound-emails`), signed by hand: see request.ts for
 * why not the SDK client.
 */
import { sendSigned, serviceTarget } from './request.ts';

export interface SendEmailInput {
  FromEmailAddress: string;
  Destination: { ToAddresses: string[] };
  Content: {
    Simple: {
      Subject: { Data: string; Charset: string };
      Body: { Text: { Data: string; Charset: string }; Html?: { Data: string; Charset: string } };
    };
  };
}

/** Sends one e-mail; resolves with SES's message id. */
export async function sendEmail(input: SendEmailInput): Promise<string | undefined> {
  const { origin, basePath } = serviceTarget('sesv2');
  const response = await sendSigned({
    service: 'sesv2',
    operation: 'SendEmail',
    method: 'POST',
    origin,
    path: `${basePath}/v2/email/outbound-emails`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    errors: 'json',
  });
  const answer = (await response.json()) as { MessageId?: string };
  return answer.MessageId;
}
