/**
 * Payout runs: run the scheduled drafting now (for everyone, one partner or one currency) and see its
 * result; a run that carries on in the background (202) is followed until it completes.
 */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../../api/client.ts';
import { label, when } from '../../format.ts';
import { can } from '../../roles.ts';
import { Empty, ErrorNote, Field, fieldError, Loading, Money, Select, Title, text } from '../../ui/kit.tsx';
import { partnerName, usePartners } from '../partners/use-partners.ts';
import { CURRENCY_OPTIONS } from '../payouts/payout-list.tsx';
import { useAction } from '../payouts/use-payout.ts';

type Run = Schemas['PayoutRun'];

function RunResult({ id }: { id: string }) {
  const partners = usePartners();
  const run = useQuery({
    queryKey: ['payout-run', id],
    queryFn: () => ok(api().GET('/payout-runs/{id}', { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data?.status === 'running' ? 1000 : false),
  });
  if (run.isPending) return <Loading what="Loading the run" />;
  if (run.error) return <ErrorNote error={run.error} />;
  const data: Run = run.data;
  return (
    <article class="panel" aria-label={`Run ${data.id}`}>
      <h3>
        Run {data.id} · {label(data.status)}
      </h3>
      {data.status === 'running' && <Loading what="Still drafting" />}
      <dl class="facts">
        <div>
          <dt>As of</dt>
          <dd>{when(data.asOf)}</dd>
        </div>
        <div>
          <dt>Payouts created</dt>
          <dd>{data.payoutsCreated}</dd>
        </div>
        <div>
          <dt>Payouts updated</dt>
          <dd>{data.payoutsUpdated}</dd>
        </div>
        <div>
          <dt>Rewards claimed</dt>
          <dd>{data.rewardsClaimed}</dd>
        </div>
      </dl>
      {data.skipped.length > 0 && (
        <>
          <h4>Skipped</h4>
          <ul>
            {data.skipped.map((skip) => (
              <li key={`${skip.partnerId}-${skip.currency}`}>
                {partnerName(partners.data, skip.partnerId)}:{' '}
                <Money amount={skip.amount} currency={skip.currency} /> —{' '}
                {skip.reason === 'below_minimum' ? 'below the minimum payout' : 'the total is not positive'}
              </li>
            ))}
          </ul>
        </>
      )}
      <p>
        <a href="/manage/payouts?status=draft">See the drafts</a>
      </p>
    </article>
  );
}

export function RunsScreen() {
  const partners = usePartners();
  const [runs, setRuns] = useState<string[]>([]);
  const start = useAction((body: Schemas['CreatePayoutRun']) => ok(api().POST('/payout-runs', { body })));
  const [lookup, setLookup] = useState<string>();
  return (
    <>
      <Title>Payout runs</Title>
      {can('POST /payout-runs') && (
        <form
          class="panel inline"
          aria-labelledby="run-now"
          onSubmit={(event) => {
            event.preventDefault();
            const form = new FormData(event.currentTarget);
            const partnerId = text(form, 'partnerId');
            const currency = text(form, 'currency');
            start.mutate(
              { ...(partnerId ? { partnerId } : {}), ...(currency ? { currency } : {}) },
              { onSuccess: (run) => setRuns((previous) => [run.id, ...previous]) },
            );
          }}
        >
          <h2 id="run-now">Run the drafting now</h2>
          <Select
            label="Partner"
            name="partnerId"
            id="run-partner"
            options={[
              { value: '', label: 'Every partner' },
              ...(partners.data ?? []).map((partner) => ({ value: partner.id, label: partner.name })),
            ]}
            error={fieldError(start.error, 'partnerId')}
          />
          <Select
            label="Currency"
            name="currency"
            id="run-currency"
            options={[{ value: '', label: 'Every currency' }, ...CURRENCY_OPTIONS]}
            error={fieldError(start.error, 'currency')}
          />
          <button type="submit" disabled={start.isPending}>
            Run now
          </button>
          <ErrorNote error={start.error} />
        </form>
      )}
      <section aria-labelledby="results">
        <h2 id="results">Results</h2>
        {runs.length === 0 && !lookup && <Empty>No run started from here yet.</Empty>}
        {runs.map((id) => (
          <RunResult key={id} id={id} />
        ))}
        <form
          class="inline"
          onSubmit={(event) => {
            event.preventDefault();
            setLookup(text(new FormData(event.currentTarget), 'runId'));
          }}
        >
          <Field label="Look up a run by id" name="runId" placeholder="run_…" />
          <button type="submit" class="secondary">
            Show run
          </button>
        </form>
        {lookup && <RunResult id={lookup} />}
      </section>
    </>
  );
}
