/**
 * EventBridge PutEvents (awsJson1_1, `X-Amz-Target: AWSEvents.PutEvents`), signed by hand: see
 * request.ts for why not the SDK client.
 */
import { callJsonRpc } from './request.ts';

const PROTOCOL = { targetPrefix: 'AWSEvents', version: '1.1' } as const;

export interface PutEventsEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[] | undefined;
}

export interface PutEventsOutput {
  FailedEntryCount?: number;
  Entries?: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

/** At most 10 entries; entries can fail one by one (`FailedEntryCount`) in a successful answer. */
export function putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventsOutput> {
  return callJsonRpc<PutEventsOutput>('eventbridge', PROTOCOL, 'PutEvents', { Entries: entries });
}
