import { httpHandler } from '#shared/http/handler.ts';
import { HOLD_ROUTES } from '#shared/http/routes/holds.ts';
import { confirmHold, getHoldById, listHolds, placeHold, releaseHold } from '#shared/usecases/holds.ts';

export const handler = httpHandler(HOLD_ROUTES, {
  createHold: async ({ body, actor }) => ({ body: await placeHold(body, actor) }),
  listHolds: async ({ query }) => ({ body: await listHolds(query) }),
  getHold: async ({ params }) => ({ body: await getHoldById(params.id) }),
  releaseHold: async ({ params, body, actor }) => ({
    body: await releaseHold(params.id, body.note, actor),
  }),
  confirmHold: async ({ params, body, actor }) => ({
    body: await confirmHold(params.id, body.note, actor),
  }),
});
