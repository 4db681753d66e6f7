/** A payout's history as a timeline, oldest first. */
import type { PayoutEvent } from '../../api/client.ts';
import { label } from '../../format.ts';
import { Empty, Status, Time } from '../../ui/kit.tsx';

function detailOf(event: PayoutEvent): string | undefined {
  const data = event.data ?? {};
  for (const key of ['reason', 'message', 'comment', 'fileName', 'paymentReference']) {
    const value = data[key];
    if (typeof value === 'string' && value) return `${label(key)}: ${value}`;
  }
  return undefined;
}

export function History({ events }: { events: PayoutEvent[] }) {
  if (events.length === 0) return <Empty>No history yet.</Empty>;
  return (
    <ol class="timeline">
      {events.map((event) => {
        const detail = detailOf(event);
        return (
          <li key={event.id}>
            <div class="when">
              <Time at={event.at} />
            </div>
            <div>
              <strong>{label(event.type)}</strong>{' '}
              {event.from && event.to && event.from !== event.to && (
                <span class="transition">
                  <Status status={event.from} /> → <Status status={event.to} />
                </span>
              )}
              <div class="muted">
                by {event.actor.role === 'system' ? 'the system' : `${event.actor.role} ${event.actor.id}`}
              </div>
              {detail && <div>{detail}</div>}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
