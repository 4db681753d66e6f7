/**
 * A loopback stand-in for SES v2 `SendEmail` (REST-JSON `POST /v2/email/outbound-emails`): each
 * e-mail becomes an .eml file (headers, the text part and the HTML part) under the mail folder.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMimeMessage } from 'mimetext';
import { type LoopbackHandler, listenLoopback, readRequestBody } from './loopback.ts';

interface SendEmailBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[]; CcAddresses?: string[] };
  Content?: {
    Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string }; Html?: { Data?: string } } };
  };
}

/** The message as an .eml file (mimetext: RFC 5322/2045 headers, multipart/alternative when there is HTML). */
export function toEml(body: SendEmailBody, messageId: string, date = new Date()): string {
  const simple = body.Content?.Simple;
  const message = createMimeMessage();
  message.setSender(body.FromEmailAddress ?? 'unknown@localhost');
  message.setTo(body.Destination?.ToAddresses ?? []);
  message.setSubject(simple?.Subject?.Data ?? '');
  message.setHeader('Message-ID', `<${messageId}@local.partner-payouts>`);
  message.setHeader('Date', date.toUTCString());
  message.addMessage({ contentType: 'text/plain', encoding: '8bit', data: simple?.Body?.Text?.Data ?? '' });
  if (simple?.Body?.Html?.Data)
    message.addMessage({ contentType: 'text/html', encoding: '8bit', data: simple.Body.Html.Data });
  return message.asRaw();
}

export async function startLocalSes(options: { mailDir: string; port?: number }) {
  mkdirSync(options.mailDir, { recursive: true });
  const handle: LoopbackHandler = async (request, response) => {
    const body = await readRequestBody(request);
    if (request.method !== 'POST' || !request.url?.startsWith('/v2/email/outbound-emails')) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'Only SendEmail is emulated' }));
      return;
    }
    try {
      const email = JSON.parse(body.toString('utf8')) as SendEmailBody;
      const messageId = randomUUID();
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      writeFileSync(join(options.mailDir, `${stamp}-${messageId}.eml`), toEml(email, messageId));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ MessageId: messageId }));
    } catch {
      response.writeHead(400, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'BadRequestException',
      });
      response.end(JSON.stringify({ message: 'Malformed SendEmail request' }));
    }
  };
  const loopback = await listenLoopback('the SES stand-in', handle, { port: options.port });
  return { endpoint: loopback.endpoint, close: loopback.close };
}
