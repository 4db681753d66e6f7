/** The partner's payouts (never drafts: the API does not show them), filtered by status. */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { api, ok, type PayoutStatus } from '../../api/client.ts';
import { PAYOUT_STATUSES } from '../../api/statuses.ts';
import { day, label } from '../../format.ts';
import { Empty, ErrorNote, Loading, Money, Pager, Select, Status, Title, usePager } from '../../ui/kit.tsx';

const VISIBLE = PAYOUT_STATUSES.filter((status) => status !== 'draft');

export function PortalPayouts() {
  const [status, setStatus] = useState<PayoutStatus | ''>('');
  const pager = usePager();
  const payouts = useQuery({
    queryKey: ['partner-payouts', status, pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/partner/payouts', {
          params: {
            query: {
              ...(status ? { status } : {}),
              ...pager.query,
            },
          },
        }),
      ),
  });
  return (
    <>
      <Title>My payouts</Title>
      <div class="filters">
        <Select
          label="Status"
          name="status"
          value={status}
          onChange={(event) => {
            pager.reset();
            setStatus(event.currentTarget.value as PayoutStatus | '');
          }}
          options={[
            { value: '', label: 'Any status' },
            ...VISIBLE.map((s) => ({ value: s, label: label(s) })),
          ]}
        />
      </div>
      <ErrorNote error={payouts.error} />
      {payouts.isPending ? (
        <Loading what="Loading your payouts" />
      ) : payouts.data?.items.length === 0 ? (
        <Empty>No payouts here yet. You will get an e-mail when one is ready for you.</Empty>
      ) : (
        <ul class="cards">
          {payouts.data?.items.map((payout) => (
            <li key={payout.id}>
              <a class="card" href={`/portal/payouts/${payout.id}`}>
                <span class="big">
                  <Money amount={payout.amount} currency={payout.currency} />
                </span>
                <Status status={payout.status} />
                <span class="muted">
                  {payout.rewardCount} rewards · {day(payout.validatedAt ?? payout.createdAt)}
                </span>
                {payout.status === 'pending' && <span class="cta">Review and validate</span>}
              </a>
            </li>
          ))}
        </ul>
      )}
      <Pager pager={pager} nextCursor={payouts.data?.nextCursor} />
    </>
  );
}
