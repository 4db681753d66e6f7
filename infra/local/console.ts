/**
 * The web console on the local server: web/dist (built by ./console-build.ts) at `/`, its
 * `/config.json` (this origin's API, local sign-in), and the local-only sign-in — a list of "manager"
 * and each partner, and a token for the one chosen, minted exactly as `npm run token` does. None of
 * this exists on AWS, where CloudFront serves the console and Cognito signs users in.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import type { ExtraRoute } from './api-gateway.ts';
import { CONSOLE_DIST } from './console-build.ts';
import { issueToken } from './tokens.ts';

/** The console's own paths (the API's are all elsewhere: /payouts, /partner/…, /exports, …). */
const SPA_PATHS = /^\/(?:|sign-in|auth\/callback|manage(?:\/.*)?|portal(?:\/.*)?)$/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** The same headers CloudFront adds on AWS (infra/constructs/console.ts). */
function securityHeaders(): Record<string, string> {
  const s3 = process.env.AWS_ENDPOINT_URL_S3 ?? '';
  return {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${s3}; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 4096) return {};
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function sendFile(
  request: IncomingMessage,
  response: ServerResponse,
  file: string,
  cacheControl: string,
): void {
  response.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    'cache-control': cacheControl,
    ...securityHeaders(),
  });
  if (request.method === 'HEAD') response.end();
  else createReadStream(file).pipe(response);
}

/** The local managers, one per role (and a second finance user, for four-eyes approvals). */
const LOCAL_MANAGERS = [
  { name: 'Manager', user: 'manager-local', roles: ['admin'] },
  { name: 'Program manager', user: 'program-manager-local', roles: ['program_manager'] },
  { name: 'Finance', user: 'finance-local', roles: ['finance'] },
  { name: 'Finance (second approver)', user: 'finance-2-local', roles: ['finance'] },
  { name: 'Viewer', user: 'viewer-local', roles: ['viewer'] },
] as const;

/** Every partner, for the sign-in list (the same use case GET /partners runs). */
async function identities() {
  const { listPartners } = await import('#shared/usecases/partners.ts');
  const partners: { id: string; name: string; email: string }[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const answer = await listPartners({ limit: 100, ...(cursor ? { cursor } : {}) });
    partners.push(...answer.items);
    if (!answer.nextCursor) break;
    cursor = answer.nextCursor;
  }
  return [
    ...LOCAL_MANAGERS.map((manager) => ({ role: 'manager', ...manager })),
    ...partners.map((partner) => ({
      role: 'partner',
      partnerId: partner.id,
      name: partner.name,
      email: partner.email,
    })),
  ];
}

export function consoleRoutes(options: { dataDir: string }): ExtraRoute {
  return async (request, response, url) => {
    const path = url.pathname;
    const method = request.method ?? 'GET';
    if (path === '/local/identities' && method === 'GET') {
      json(response, 200, { items: await identities() });
      return true;
    }
    if (path === '/local/sign-in' && method === 'POST') {
      const body = await readJson(request);
      const manager = LOCAL_MANAGERS.find((known) => known.user === (body.user ?? 'manager-local'));
      if (body.role === 'manager' && manager) {
        json(response, 200, {
          token: await issueToken(options.dataDir, {
            role: 'manager',
            subject: manager.user,
            roles: [...manager.roles],
          }),
        });
      } else if (
        body.role === 'partner' &&
        typeof body.partnerId === 'string' &&
        /^pt_\w+$/.test(body.partnerId)
      ) {
        json(response, 200, {
          token: await issueToken(options.dataDir, { role: 'partner', partnerId: body.partnerId }),
        });
      } else {
        json(response, 400, {
          detail: 'role must be "manager" (with a known local user), or "partner" with a partnerId',
        });
      }
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (path === '/config.json') {
      json(response, 200, { apiUrl: '', auth: { kind: 'local' } });
      return true;
    }
    if (path.startsWith('/assets/')) {
      const file = normalize(join(CONSOLE_DIST, path));
      if (!file.startsWith(join(CONSOLE_DIST, 'assets')) || !existsSync(file) || !statSync(file).isFile())
        return false;
      sendFile(request, response, file, 'public, max-age=31536000, immutable');
      return true;
    }
    if (SPA_PATHS.test(path)) {
      const index = join(CONSOLE_DIST, 'index.html');
      if (!existsSync(index)) {
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(
          'The console is not built: run `npx tsx infra/local/console-build.ts` (npm start does it).',
        );
        return true;
      }
      sendFile(request, response, index, 'no-cache');
      return true;
    }
    return false;
  };
}
