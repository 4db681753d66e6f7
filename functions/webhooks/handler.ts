import { httpHandler } from '#shared/http/handler.ts';
import { WEBHOOK_ROUTES } from '#shared/http/routes/webhooks.ts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  replayWebhooks,
  rotateWebhookSecret,
  testWebhookEndpoint,
  updateWebhookEndpoint,
} from '#shared/usecases/webhooks.ts';

export const handler = httpHandler(WEBHOOK_ROUTES, {
  createWebhookEndpoint: async ({ body }) => ({ body: await createWebhookEndpoint(body) }),
  listWebhookEndpoints: async ({ query }) => ({ body: await listWebhookEndpoints(query) }),
  getWebhookEndpoint: async ({ params }) => ({ body: await getWebhookEndpoint(params.id) }),
  updateWebhookEndpoint: async ({ params, body }) => ({
    body: await updateWebhookEndpoint(params.id, body),
  }),
  deleteWebhookEndpoint: async ({ params }) => {
    await deleteWebhookEndpoint(params.id);
    return { body: undefined };
  },
  rotateWebhookSecret: async ({ params }) => ({ body: await rotateWebhookSecret(params.id) }),
  testWebhookEndpoint: async ({ params }) => ({ body: await testWebhookEndpoint(params.id) }),
  listWebhookDeliveries: async ({ params, query }) => ({
    body: await listWebhookDeliveries(params.id, query),
  }),
  replayWebhooks: async ({ params, body }) => ({ body: await replayWebhooks(params.id, body) }),
});
