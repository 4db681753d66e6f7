/** Domain events on the EventBridge bus: `source: partner-payouts`, `detail-type` = event type. */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridge } from './clients.ts';

export const EVENT_SOURCE = 'partner-payouts';

export interface DomainEvent {
  type: string;
  detail: Record<string, unknown>;
  /** Lets subscribers de-duplicate: the history entry's id. */
  resources?: string[];
}

/** Publishes in batches of 10; throws if any entry failed, so the caller's retry publishes again. */
export async function publishEvents(events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  const busName = process.env.EVENT_BUS_NAME ?? 'default';
  for (let start = 0; start < events.length; start += 10) {
    const batch = events.slice(start, start + 10);
    const result = await eventBridge().send(
      new PutEventsCommand({
        Entries: batch.map((event) => ({
          EventBusName: busName,
          Source: EVENT_SOURCE,
          DetailType: event.type,
          Detail: JSON.stringify(event.detail),
          Resources: event.resources,
        })),
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      const reasons = (result.Entries ?? []).map((entry) => entry.ErrorCode).filter(Boolean);
      throw new Error(`PutEvents failed for ${result.FailedEntryCount} entries: ${reasons.join(', ')}`);
    }
  }
}
