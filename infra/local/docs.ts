/**
 * The API documentation of the local server: `GET /openapi.json` (the OpenAPI 3.1 document built from
 * the route catalogue, with this server as its server URL) and `GET /docs` (Swagger UI, served from the
 * installed `swagger-ui-dist` package under `/docs/…`: no CDN).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { openApiDocument } from '#shared/http/openapi.ts';
import type { ExtraRoute } from './api-gateway.ts';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

/** Only the bundle's own files: a single name, no directory, no dot file. */
const ASSET_NAME = /^[A-Za-z0-9][\w.-]*$/;

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Partner payouts API</title>
    <link rel="stylesheet" type="text/css" href="${DOCS_PATH}/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="${DOCS_PATH}/index.css" />
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${DOCS_PATH}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="${DOCS_PATH}/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

/** Replaces the bundle's own initializer, which points at the petstore. */
const INITIALIZER_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

let assetsDirectory: string | undefined;

/** Where `swagger-ui-dist` is installed. */
export function swaggerUiDirectory(): string {
  assetsDirectory ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return assetsDirectory;
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  cacheControl = 'no-cache',
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': cacheControl,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** The URL the caller used to reach this server, for the document's `servers`. */
function serverUrlOf(request: IncomingMessage, url: URL): string {
  const host = request.headers.host;
  return host ? `http://${host}` : url.origin;
}

async function sendAsset(request: IncomingMessage, response: ServerResponse, name: string): Promise<boolean> {
  if (!ASSET_NAME.test(name)) return false;
  let body: Buffer;
  try {
    body = await readFile(join(swaggerUiDirectory(), name));
  } catch {
    return false;
  }
  const contentType = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
  send(request, response, 200, contentType, body, 'public, max-age=3600');
  return true;
}

/** `GET /openapi.json`, `GET /docs` and the Swagger UI assets under `/docs/…`. */
export function docsRoutes(): ExtraRoute {
  return async (request, response, url) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = url.pathname;
    if (path === OPENAPI_PATH) {
      const document = openApiDocument({ serverUrl: serverUrlOf(request, url) });
      send(request, response, 200, 'application/json; charset=utf-8', JSON.stringify(document));
      return true;
    }
    if (path === DOCS_PATH || path === `${DOCS_PATH}/` || path === `${DOCS_PATH}/index.html`) {
      send(request, response, 200, 'text/html; charset=utf-8', INDEX_HTML);
      return true;
    }
    if (path === `${DOCS_PATH}/swagger-initializer.js`) {
      send(request, response, 200, 'text/javascript; charset=utf-8', INITIALIZER_JS);
      return true;
    }
    if (path.startsWith(`${DOCS_PATH}/`)) {
      return sendAsset(request, response, path.slice(DOCS_PATH.length + 1));
    }
    return false;
  };
}
