/** Exports: create one by format, currency and SEPA version (its file downloads at once), and past exports. */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../../api/client.ts';
import { bytes, when } from '../../format.ts';
import { can } from '../../roles.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
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
import { CURRENCY_OPTIONS } from '../payouts/payout-list.tsx';
import { useAction } from '../payouts/use-payout.ts';

type ExportFormat = Schemas['CreateExport']['format'];
type SepaVersion = NonNullable<Schemas['CreateExport']['sepaVersion']>;

const FORMATS: Record<ExportFormat, string> = {
  sepa: 'SEPA credit transfer (pain.001 XML)',
  csv: 'CSV',
  paypal: 'PayPal payouts (CSV)',
  wise: 'Wise batch (CSV)',
};
const SEPA_VERSIONS: Record<SepaVersion, string> = {
  'pain.001.001.09': 'pain.001.001.09 (current)',
  'pain.001.001.03': 'pain.001.001.03 (older banks)',
};

function Totals({ totals }: { totals: { currency: string; amount: number }[] }) {
  return (
    <>
      {totals.map((total, index) => (
        <span key={total.currency}>
          {index > 0 && ', '}
          <Money amount={total.amount} currency={total.currency} />
        </span>
      ))}
    </>
  );
}

async function download(id: string): Promise<void> {
  // The list's links expire; ask for a fresh one to the same bytes.
  const fresh = await ok(api().GET('/exports/{id}', { params: { path: { id } } }));
  if (!fresh.url) throw new Error('This export was voided: its file can no longer be downloaded.');
  location.assign(fresh.url);
}

type SkipReason = NonNullable<Schemas['Export']['skipped']>[number]['reason'];
const SKIP_REASONS: Record<SkipReason, string> = {
  on_hold: 'on hold (release the hold first, see Holds)',
  approval_required: 'waits for an approval (see Approvals)',
  same_user: 'you released its payout-method hold, so someone else must export it (four-eyes rule)',
};

function CreateExport() {
  const [format, setFormat] = useState<ExportFormat>('sepa');
  const create = useAction((body: Schemas['CreateExport']) => ok(api().POST('/exports', { body })));
  const created = create.data;
  return (
    <section class="panel" aria-labelledby="new-export">
      <h2 id="new-export">New export</h2>
      <p class="hint">
        Takes every ready payout (of the currency, if you choose one); they move to processing.
      </p>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const currency = text(form, 'currency');
          const sepaVersion = text(form, 'sepaVersion') as SepaVersion | undefined;
          create.mutate({
            format,
            ...(currency ? { currency } : {}),
            ...(format === 'sepa' && sepaVersion ? { sepaVersion } : {}),
          });
        }}
      >
        <Select
          label="Format"
          name="format"
          value={format}
          onChange={(event) => setFormat(event.currentTarget.value as ExportFormat)}
          options={Object.entries(FORMATS).map(([value, label]) => ({ value, label }))}
          error={fieldError(create.error, 'format')}
        />
        <Select
          label="Currency"
          name="currency"
          options={[{ value: '', label: 'Every currency' }, ...CURRENCY_OPTIONS]}
          error={fieldError(create.error, 'currency')}
        />
        {format === 'sepa' && (
          <Select
            label="SEPA version"
            name="sepaVersion"
            options={Object.entries(SEPA_VERSIONS).map(([value, label]) => ({ value, label }))}
            error={fieldError(create.error, 'sepaVersion')}
          />
        )}
        <button type="submit" disabled={create.isPending}>
          Create export
        </button>
      </form>
      <ErrorNote error={create.error} />
      {created && (
        <div class="result" role="status">
          <p>
            Export <strong>{created.id}</strong>: {created.payoutCount} payout
            {created.payoutCount === 1 ? '' : 's'}, <Totals totals={created.totals} />.
          </p>
          <ul>
            {created.files.map((file) => (
              <li key={file.fileName}>
                <a href={file.url} download={file.fileName}>
                  Download {file.fileName}
                </a>{' '}
                ({bytes(file.size)})
              </li>
            ))}
          </ul>
          {created.skipped && created.skipped.length > 0 && (
            <>
              <p>Left out, and why:</p>
              <ul>
                {created.skipped.map((skip) => (
                  <li key={skip.payoutId}>
                    <a href={`/manage/payouts/${skip.payoutId}`}>{skip.payoutId}</a>:{' '}
                    {SKIP_REASONS[skip.reason]}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </section>
  );
}

/** Void an export the bank refused or that was never sent: its payouts still processing become ready. */
function VoidButton({ id }: { id: string }) {
  const voided = useAction((reason: string) =>
    ok(api().POST('/exports/{id}/void', { params: { path: { id } }, body: { reason } })),
  );
  return (
    <>
      <ConfirmButton
        label={`Void ${id}`}
        title="Void this export?"
        confirm="Void export"
        danger
        busy={voided.isPending}
        onConfirm={(form) => voided.mutate(text(form, 'reason') ?? '')}
      >
        <p>Do this only if the file was not paid. Its payouts still processing go back to ready.</p>
        <Field label="Reason" name="reason" id={`void-${id}`} required />
      </ConfirmButton>
      <ErrorNote error={voided.error} />
    </>
  );
}

export function ExportsScreen() {
  const pager = usePager();
  const [error, setError] = useState<unknown>();
  const exports = useQuery({
    queryKey: ['exports', pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/exports', {
          params: { query: pager.query },
        }),
      ),
  });
  return (
    <>
      <Title>Exports</Title>
      {can('POST /exports') && <CreateExport />}
      <section aria-labelledby="past-exports">
        <h2 id="past-exports">Past exports</h2>
        <ErrorNote error={exports.error ?? error} />
        {exports.isPending ? (
          <Loading what="Loading exports" />
        ) : exports.data?.items.length === 0 ? (
          <Empty>No exports yet.</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Past exports</caption>
              <thead>
                <tr>
                  <th scope="col">Export</th>
                  <th scope="col">Format</th>
                  <th scope="col" class="num">
                    Payouts
                  </th>
                  <th scope="col">Totals</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">File</th>
                </tr>
              </thead>
              <tbody>
                {exports.data?.items.map((item) => (
                  <tr key={item.id}>
                    <td>{item.id}</td>
                    <td>{item.sepaVersion ? `SEPA ${item.sepaVersion}` : item.format.toUpperCase()}</td>
                    <td class="num">{item.payoutCount}</td>
                    <td>
                      <Totals totals={item.totals} />
                    </td>
                    <td>{when(item.createdAt)}</td>
                    <td>
                      <Status status={item.status} />
                      {item.voidReason && <div class="muted">{item.voidReason}</div>}
                    </td>
                    <td>
                      <div class="row-actions">
                        {item.status === 'active' && (
                          <>
                            <button
                              type="button"
                              class="small secondary"
                              onClick={() => download(item.id).catch(setError)}
                            >
                              Download<span class="visually-hidden"> {item.fileName}</span>
                            </button>
                            {can('POST /exports/{id}/void') && <VoidButton id={item.id} />}
                          </>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pager={pager} nextCursor={exports.data?.nextCursor} />
      </section>
    </>
  );
}
