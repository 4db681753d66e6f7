/** Request bodies and queries of the webhook-endpoint routes (see ./schemas.ts for why they are split by function). */
import * as z from 'zod/mini';
import { listQuery, named, text, timestamp } from './schemas.ts';
import { EVENT_TYPE_FILTER } from './webhooks.ts';

const url = () =>
  z.string().check(
    z.maxLength(2048),
    z.refine((value) => URL.canParse(value), 'must be an absolute URL'),
  );

const eventTypes = () =>
  z
    .array(
      z
        .string()
        .check(
          z.maxLength(100),
          z.regex(EVENT_TYPE_FILTER, 'must be an event type (payout.paid), a family (payout.*) or *'),
        ),
    )
    .check(z.maxLength(50));

export const CreateWebhookEndpoint = named(
  'CreateWebhookEndpoint',
  z.strictObject({
    url: url(),
    description: z.optional(text(500)),
    eventTypes: z.optional(z.nullable(eventTypes())),
  }),
);
export type CreateWebhookEndpoint = z.infer<typeof CreateWebhookEndpoint>;

export const UpdateWebhookEndpoint = named(
  'UpdateWebhookEndpoint',
  z.strictObject({
    url: z.optional(url()),
    description: z.optional(z.nullable(text(500))),
    eventTypes: z.optional(z.nullable(eventTypes())),
    enabled: z.optional(z.boolean()),
  }),
);
export type UpdateWebhookEndpoint = z.infer<typeof UpdateWebhookEndpoint>;

export const ReplayWebhooks = named(
  'ReplayWebhooks',
  z
    .strictObject({
      since: z.optional(timestamp()),
      eventIds: z.optional(
        z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.minLength(1), z.maxLength(100)),
      ),
    })
    .check(
      z.refine((body) => body.since !== undefined || body.eventIds !== undefined, {
        message: 'give since or eventIds',
        path: ['since'],
      }),
    ),
);
export type ReplayWebhooks = z.infer<typeof ReplayWebhooks>;

export const DELIVERY_STATUSES = ['delivered', 'retrying', 'failed'] as const;

export const DeliveriesQuery = listQuery({
  status: z.optional(z.enum(DELIVERY_STATUSES)),
  eventType: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
});
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>;
