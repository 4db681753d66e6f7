/** The manager's home: counts and sums per status and currency, and what needs action. */
import { useQuery } from '@tanstack/preact-query';
import { api, ok } from '../../api/client.ts';
import { PAYOUT_STATUSES } from '../../api/statuses.ts';
import { ago } from '../../format.ts';
import { Empty, ErrorNote, Loading, Money, Status, Title } from '../../ui/kit.tsx';

/** A payout waiting on its partner longer than this needs a nudge. */
const LONG_WAIT_DAYS = 7;
/** An exported payout with no outcome from the bank after this long needs a look at the bank reports. */
const NO_OUTCOME_DAYS = 3;

function Summary() {
  const summary = useQuery({
    queryKey: ['payouts-summary'],
    queryFn: () => ok(api().GET('/payouts/summary')),
  });
  if (summary.isPending) return <Loading what="Loading the summary" />;
  if (summary.error) return <ErrorNote error={summary.error} />;
  const items = summary.data.items;
  if (items.length === 0) return <Empty>No payouts yet. Add partners and rewards, then draft payouts.</Empty>;
  return (
    <div class="cards">
      {PAYOUT_STATUSES.map((status) => {
        const rows = items.filter((item) => item.status === status);
        if (rows.length === 0) return null;
        return (
          <a key={status} class="card" href={`/manage/payouts?status=${status}`}>
            <h3>
              <Status status={status} />
            </h3>
            <ul>
              {rows.map((row) => (
                <li key={row.currency}>
                  <span class="count">
                    {row.count} payout{row.count === 1 ? '' : 's'}
                  </span>
                  <Money amount={row.amount} currency={row.currency} />
                </li>
              ))}
            </ul>
          </a>
        );
      })}
    </div>
  );
}

function NeedsAction() {
  const drafts = useQuery({
    queryKey: ['payouts', { status: 'draft', limit: 5 }],
    queryFn: () => ok(api().GET('/payouts', { params: { query: { status: 'draft', limit: 5 } } })),
  });
  const pending = useQuery({
    queryKey: ['payouts', { status: 'pending', limit: 100 }],
    queryFn: () => ok(api().GET('/payouts', { params: { query: { status: 'pending', limit: 100 } } })),
  });
  const processing = useQuery({
    queryKey: ['payouts', { status: 'processing', limit: 100 }],
    queryFn: () => ok(api().GET('/payouts', { params: { query: { status: 'processing', limit: 100 } } })),
  });
  const cutoff = Date.now() - LONG_WAIT_DAYS * 86_400_000;
  const bankCutoff = Date.now() - NO_OUTCOME_DAYS * 86_400_000;
  const stuck = (processing.data?.items ?? []).filter(
    (payout) => new Date(payout.processingAt ?? payout.updatedAt).getTime() < bankCutoff,
  );
  const waiting = (pending.data?.items ?? []).filter(
    (payout) => new Date(payout.validatedAt ?? payout.updatedAt).getTime() < cutoff,
  );
  return (
    <section aria-labelledby="action">
      <h2 id="action">Needs action</h2>
      <ErrorNote error={drafts.error ?? pending.error ?? processing.error} />
      {drafts.isPending || pending.isPending ? (
        <Loading what="Looking for work" />
      ) : (
        <ul class="todo">
          <li>
            <h3>Drafts to review</h3>
            {drafts.data?.items.length ? (
              <ul>
                {drafts.data.items.map((payout) => (
                  <li key={payout.id}>
                    <a href={`/manage/payouts/${payout.id}`}>
                      {payout.partnerId} · <Money amount={payout.amount} currency={payout.currency} /> ·{' '}
                      {payout.rewardCount} rewards
                    </a>
                  </li>
                ))}
                {drafts.data.nextCursor && (
                  <li>
                    <a href="/manage/payouts?status=draft">All drafts</a>
                  </li>
                )}
              </ul>
            ) : (
              <p class="muted">No drafts.</p>
            )}
          </li>
          <li>
            <h3>Waiting on partners for more than {LONG_WAIT_DAYS} days</h3>
            {waiting.length ? (
              <ul>
                {waiting.map((payout) => (
                  <li key={payout.id}>
                    <a href={`/manage/payouts/${payout.id}`}>
                      {payout.partnerId} · <Money amount={payout.amount} currency={payout.currency} /> ·
                      validated {ago(payout.validatedAt ?? payout.updatedAt)}
                    </a>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">Nobody has kept us waiting.</p>
            )}
          </li>
          <li>
            <h3>Processing for more than {NO_OUTCOME_DAYS} days without an outcome</h3>
            {stuck.length ? (
              <ul>
                {stuck.map((payout) => (
                  <li key={payout.id}>
                    <a href={`/manage/payouts/${payout.id}`}>
                      {payout.partnerId} · <Money amount={payout.amount} currency={payout.currency} /> ·
                      exported {ago(payout.processingAt ?? payout.updatedAt)}
                    </a>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">
                No payment is overdue. <a href="/manage/bank-reports">Bank reports</a>
              </p>
            )}
          </li>
        </ul>
      )}
    </section>
  );
}

export function ManagerHome() {
  return (
    <>
      <Title>Home</Title>
      <section aria-labelledby="totals">
        <h2 id="totals">Payouts by status</h2>
        <Summary />
      </section>
      <NeedsAction />
    </>
  );
}
