/**
 * The HTML part of every e-mail, laid out for mail clients (tables, inline styles, no remote images,
 * no script), rendered by Eta with auto-escaping from the same facts as the plain-text part.
 */
import { Eta, type TemplateFunction } from 'eta/core';

export interface EmailContent {
  subject: string;
  greeting?: string | undefined;
  paragraphs: string[];
  steps?: { intro: string; items: string[] } | undefined;
  /** The console's page this e-mail is about, as a button (and the address below it). */
  link?: string | undefined;
  action?: string | undefined;
}

const FONT = 'font-family:Arial,Helvetica,sans-serif;';

const TEMPLATE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title><%= it.subject %></title>
</head>
<body style="margin:0;padding:0;background-color:#f6f8fa;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f6f8fa;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;background-color:#ffffff;border:1px solid #d0d7de;">
<tr><td style="padding:16px 24px;background-color:#12263f;color:#ffffff;${FONT}font-size:18px;font-weight:bold;">Partner payouts</td></tr>
<tr><td style="padding:24px;${FONT}font-size:16px;line-height:24px;color:#1b1f24;">
<% if (it.greeting) { %><p style="margin:0 0 16px 0;"><%= it.greeting %></p>
<% } %><% it.paragraphs.forEach(function (paragraph) { %><p style="margin:0 0 16px 0;white-space:pre-line;"><%= paragraph %></p>
<% }) %><% if (it.steps) { %><p style="margin:0 0 8px 0;"><%= it.steps.intro %></p>
<ul style="margin:0 0 16px 0;padding-left:20px;"><% it.steps.items.forEach(function (item) { %><li style="margin:0 0 4px 0;"><%= item %></li><% }) %></ul>
<% } %><% if (it.link) { %><table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 16px 0;"><tr>
<td style="background-color:#0b57d0;border-radius:6px;"><a href="<%= it.link %>" style="display:inline-block;padding:12px 20px;${FONT}font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none;"><%= it.action || 'Open in the console' %></a></td>
</tr></table>
<p style="margin:0;font-size:13px;line-height:20px;color:#57606a;">Or open this address: <a href="<%= it.link %>" style="color:#0b57d0;word-break:break-all;"><%= it.link %></a></p>
<% } %></td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`;

const eta = new Eta({ autoEscape: true, autoTrim: false });
let compiled: TemplateFunction | undefined;

export function renderEmailHtml(content: EmailContent): string {
  compiled ??= eta.compile(TEMPLATE);
  return eta.render(compiled, content);
}

/** The plain-text part: the same facts, line by line, the link last. */
export function renderEmailText(content: EmailContent): string {
  return [
    ...(content.greeting ? [content.greeting, ''] : []),
    ...content.paragraphs.flatMap((paragraph) => [paragraph, '']),
    ...(content.steps ? [content.steps.intro, ...content.steps.items.map((item) => `- ${item}`), ''] : []),
    ...(content.link ? [content.link] : []),
  ]
    .join('\n')
    .trimEnd();
}

/**
 * The content of an e-mail written as plain text only (e.g. a bank report's summary): its blocks
 * become paragraphs (line breaks kept), a last line that is an address becomes the link.
 */
export function contentFromText(subject: string, text: string): EmailContent {
  const blocks = text
    .trim()
    .split(/\n\s*\n/)
    .map((block) => block.trim());
  const last = blocks[blocks.length - 1] ?? '';
  const link = /^https?:\/\/\S+$/.test(last) ? last : undefined;
  return { subject, paragraphs: link ? blocks.slice(0, -1) : blocks, link };
}
