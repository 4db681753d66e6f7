/** The routes of the `rewards` function (see ../routes.ts for the whole catalogue). */
import * as z from 'zod/mini';
import { CreateReward, RefuseReward } from '../../domain/reward-requests.ts';
import { EmptyBody, listQuery, RewardStatus } from '../../domain/schemas.ts';
import { type RouteSpec, route } from '../route-spec.ts';

const RewardQuery = listQuery({
  partnerId: z.optional(z.string()),
  status: z.optional(RewardStatus),
  payoutId: z.optional(z.string()),
});

export const REWARD_ROUTES = {
  createReward: route({
    method: 'POST',
    path: '/rewards',
    group: 'rewards',
    access: 'manager',
    permission: 'manage',
    summary: 'Create a reward (201), or get the one with the same externalId (200)',
    body: CreateReward,
    status: 201,
    otherStatuses: { 200: 'A reward with this externalId and the same fields exists: that reward' },
    response: 'Reward',
  }),
  listRewards: route({
    method: 'GET',
    path: '/rewards',
    group: 'rewards',
    access: 'manager',
    permission: 'read',
    summary: 'List rewards',
    query: RewardQuery,
    status: 200,
    response: 'Reward',
    paged: true,
  }),
  getReward: route({
    method: 'GET',
    path: '/rewards/{id}',
    group: 'rewards',
    access: 'manager',
    permission: 'read',
    summary: 'Get a reward',
    status: 200,
    response: 'Reward',
  }),
  acceptReward: route({
    method: 'POST',
    path: '/rewards/{id}/accept',
    group: 'rewards',
    access: 'manager',
    permission: 'manage',
    summary: 'Accept a reward in no payout or in a draft',
    body: EmptyBody,
    status: 200,
    response: 'Reward',
  }),
  refuseReward: route({
    method: 'POST',
    path: '/rewards/{id}/refuse',
    group: 'rewards',
    access: 'manager',
    permission: 'manage',
    summary: 'Refuse a reward in no payout or in a draft, with a reason the partner sees',
    body: RefuseReward,
    status: 200,
    response: 'Reward',
  }),
} as const satisfies Record<string, RouteSpec>;
