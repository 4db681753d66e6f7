import { httpHandler } from '#shared/http/handler.ts';
import { HEALTH_ROUTES } from '#shared/http/routes/health.ts';

export const handler = httpHandler(HEALTH_ROUTES, {
  health: async () => ({ body: { status: 'ok' } }),
});
