/** Payouts, filtered by status, partner and currency (kept in the address), page by page; drafting one. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/preact-query';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok, type PayoutStatus } from '../../api/client.ts';
import { PAYOUT_STATUSES } from '../../api/statuses.ts';
import { CURRENCIES, label, when } from '../../format.ts';
import { can } from '../../roles.ts';
import {
  Empty,
  ErrorNote,
  fieldError,
  Loading,
  Money,
  Pager,
  Select,
  Status,
  Title,
  text,
  usePager,
} from '../../ui/kit.tsx';
import { partnerName, usePartners } from '../partners/use-partners.ts';

const COMMON = ['EUR', 'USD', 'GBP', 'CHF', 'JPY', 'BHD'];
export const CURRENCY_OPTIONS = [...COMMON, ...CURRENCIES.filter((code) => !COMMON.includes(code))];

function DraftForm() {
  const { route } = useLocation();
  const partners = usePartners();
  const queryClient = useQueryClient();
  const draft = useMutation({
    mutationFn: (body: { partnerId: string; currency: string }) => ok(api().POST('/payouts', { body })),
    onSuccess: (payout) => {
      void queryClient.invalidateQueries();
      route(`/manage/payouts/${payout.id}`);
    },
  });
  return (
    <details class="panel">
      <summary>Draft a payout</summary>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          draft.mutate({ partnerId: text(form, 'partnerId') ?? '', currency: text(form, 'currency') ?? '' });
        }}
      >
        <Select
          label="Partner"
          name="partnerId"
          id="draft-partner"
          required
          options={(partners.data ?? []).map((partner) => ({ value: partner.id, label: partner.name }))}
          error={fieldError(draft.error, 'partnerId')}
        />
        <Select
          label="Currency"
          name="currency"
          id="draft-currency"
          options={CURRENCY_OPTIONS}
          error={fieldError(draft.error, 'currency')}
        />
        <button type="submit" disabled={draft.isPending}>
          Draft from unclaimed rewards
        </button>
      </form>
      <ErrorNote error={draft.error} />
    </details>
  );
}

export function PayoutList() {
  const { query } = useLocation();
  // The finance digest links to what waits for an approval.
  if (query.needsApproval === 'true') return <Redirect to="/manage/approvals" />;
  return <Payouts />;
}

function Redirect({ to }: { to: string }) {
  const { route } = useLocation();
  useEffect(() => route(to, true), [to, route]);
  return null;
}

function Payouts() {
  const { query, route } = useLocation();
  const status = PAYOUT_STATUSES.includes(query.status as PayoutStatus)
    ? (query.status as PayoutStatus)
    : undefined;
  const partnerId = query.partnerId || undefined;
  const currency = query.currency || undefined;
  const pager = usePager();
  const partners = usePartners();
  const filters = { status, partnerId, currency };
  const payouts = useQuery({
    queryKey: ['payouts', filters, pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/payouts', {
          params: {
            query: {
              ...(status ? { status } : {}),
              ...(partnerId ? { partnerId } : {}),
              ...(currency ? { currency } : {}),
              ...pager.query,
            },
          },
        }),
      ),
  });
  const applyFilters = (form: FormData) => {
    const params = new URLSearchParams();
    for (const name of ['status', 'partnerId', 'currency']) {
      const value = text(form, name);
      if (value) params.set(name, value);
    }
    pager.reset();
    route(`/manage/payouts${params.size ? `?${params}` : ''}`);
  };
  return (
    <>
      <Title>Payouts</Title>
      {can('POST /payouts') && <DraftForm />}
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(event) => {
          event.preventDefault();
          applyFilters(new FormData(event.currentTarget));
        }}
        // A filter applies as soon as it is chosen (the address keeps it; the selects show the address).
        onChange={(event) => applyFilters(new FormData(event.currentTarget))}
      >
        <Select
          label="Status"
          name="status"
          value={status ?? ''}
          options={[
            { value: '', label: 'Any status' },
            ...PAYOUT_STATUSES.map((s) => ({ value: s, label: label(s) })),
          ]}
        />
        <Select
          label="Partner"
          name="partnerId"
          value={partnerId ?? ''}
          options={[
            { value: '', label: 'Any partner' },
            ...(partners.data ?? []).map((partner) => ({ value: partner.id, label: partner.name })),
          ]}
        />
        <Select
          label="Currency"
          name="currency"
          value={currency ?? ''}
          options={[{ value: '', label: 'Any currency' }, ...CURRENCY_OPTIONS]}
        />
        <button type="submit" class="secondary">
          Apply filters
        </button>
      </form>
      <ErrorNote error={payouts.error} />
      {payouts.isPending ? (
        <Loading what="Loading payouts" />
      ) : payouts.data?.items.length === 0 ? (
        <Empty>No payouts match these filters.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Payouts</caption>
            <thead>
              <tr>
                <th scope="col">Payout</th>
                <th scope="col">Partner</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col" class="num">
                  Rewards
                </th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {payouts.data?.items.map((payout) => (
                <tr key={payout.id}>
                  <td>
                    <a href={`/manage/payouts/${payout.id}`}>{payout.id}</a>
                  </td>
                  <td>{partnerName(partners.data, payout.partnerId)}</td>
                  <td>
                    <Status status={payout.status} />
                  </td>
                  <td class="num">
                    <Money amount={payout.amount} currency={payout.currency} />
                  </td>
                  <td class="num">{payout.rewardCount}</td>
                  <td>{when(payout.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pager={pager} nextCursor={payouts.data?.nextCursor} />
    </>
  );
}
