import { httpHandler } from '#shared/http/handler.ts';
import { REWARD_ROUTES } from '#shared/http/routes/rewards.ts';
import { createReward, decideReward, getReward, listRewards } from '#shared/usecases/rewards.ts';

export const handler = httpHandler(REWARD_ROUTES, {
  createReward: async ({ body }) => {
    const { reward, created } = await createReward(body);
    return { status: created ? 201 : 200, body: reward };
  },
  listRewards: async ({ query }) => ({ body: await listRewards(query) }),
  getReward: async ({ params }) => ({ body: await getReward(params.id) }),
  acceptReward: async ({ params, actor }) => ({
    body: await decideReward(params.id, { decision: 'accept' }, actor),
  }),
  refuseReward: async ({ params, body, actor }) => ({
    body: await decideReward(params.id, { decision: 'refuse', reason: body.reason }, actor),
  }),
});
