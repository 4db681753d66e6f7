import { httpHandler } from '#shared/http/handler.ts';
import { EXPORT_ROUTES } from '#shared/http/routes/exports.ts';
import { createExport, getExport, listExports, voidExportByManager } from '#shared/usecases/exports.ts';

export const handler = httpHandler(EXPORT_ROUTES, {
  createExport: async ({ body, actor, requestKey }) => ({
    body: await createExport(body, actor, { requestKey }),
  }),
  listExports: async ({ query }) => ({ body: await listExports(query) }),
  getExport: async ({ params }) => ({ body: await getExport(params.id) }),
  voidExport: async ({ params, body, actor }) => ({
    body: await voidExportByManager(params.id, body.reason, actor),
  }),
});
