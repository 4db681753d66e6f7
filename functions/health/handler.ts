import { httpHandler } from '#shared/http/handler.ts';

export const handler = httpHandler('health', {
  health: async () => ({ body: { status: 'ok' } }),
});
