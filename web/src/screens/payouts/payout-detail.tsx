/**
 * One payout, for the manager: its rewards (accept, refuse with a reason), validation (invoice and
 * reward-review requirements, a message), the invoice (download, reject), mark paid, cancel, and its
 * history. Actions that move money ask for confirmation; every transition sends If-Match.
 */

import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok, type Payout, type Reward } from '../../api/client.ts';
import { bytes } from '../../format.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
  fieldError,
  Loading,
  Money,
  Status,
  TextArea,
  Time,
  Title,
  text,
} from '../../ui/kit.tsx';
import { partnerName, usePartners } from '../partners/use-partners.ts';
import { History } from './history.tsx';
import { useAction, usePayout } from './use-payout.ts';

const ifMatch = (payout: Payout) => ({ 'If-Match': String(payout.version) });

function RewardRow({ reward, editable }: { reward: Reward; editable: boolean }) {
  const accept = useAction(() =>
    ok(api().POST('/rewards/{id}/accept', { params: { path: { id: reward.id } }, body: {} })),
  );
  const refuse = useAction((reason: string) =>
    ok(api().POST('/rewards/{id}/refuse', { params: { path: { id: reward.id } }, body: { reason } })),
  );
  const busy = accept.isPending || refuse.isPending;
  const name = reward.description ?? reward.externalId ?? reward.id;
  return (
    <tr>
      <td>{name}</td>
      <td class="num">
        <Money amount={reward.amount} currency={reward.currency} />
      </td>
      <td>
        <Status status={reward.status} />
        {reward.refusalReason && <div class="muted">{reward.refusalReason}</div>}
      </td>
      <td>
        {reward.review ? (
          <>
            <Status status={reward.review.decision === 'approve' ? 'approved' : 'disputed'} />
            {reward.review.comment && <div class="muted">“{reward.review.comment}”</div>}
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td>
        <div class="row-actions">
          {editable && reward.status === 'pending' && (
            <button type="button" class="small" disabled={busy} onClick={() => accept.mutate(undefined)}>
              Accept<span class="visually-hidden"> {name}</span>
            </button>
          )}
          {editable && reward.status !== 'refused' && (
            <ConfirmButton
              label={`Refuse ${name}`}
              title={`Refuse ${name}?`}
              confirm="Refuse reward"
              danger
              busy={busy}
              onConfirm={(form) => refuse.mutate(text(form, 'reason') ?? '')}
            >
              <p>It leaves the payout's total. The partner sees the reason.</p>
              <Field label="Reason" name="reason" id={`reason-${reward.id}`} required />
            </ConfirmButton>
          )}
          <ErrorNote error={accept.error ?? refuse.error} />
        </div>
      </td>
    </tr>
  );
}

function Rewards({ payout, rewards }: { payout: Payout; rewards: Reward[] }) {
  if (rewards.length === 0) return <Empty>This payout has no rewards.</Empty>;
  const editable = payout.status === 'draft';
  return (
    <div class="table-wrap">
      <table class="rewards">
        <caption class="visually-hidden">Rewards</caption>
        <thead>
          <tr>
            <th scope="col">Reward</th>
            <th scope="col" class="num">
              Amount
            </th>
            <th scope="col">Status</th>
            <th scope="col">Partner's review</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rewards.map((reward) => (
            <RewardRow key={reward.id} reward={reward} editable={editable} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Validate({ payout }: { payout: Payout }) {
  const validate = useAction(
    (body: { requireInvoice: boolean; requireRewardReview: boolean; message?: string }) =>
      ok(
        api().POST('/payouts/{id}/validate', {
          params: { path: { id: payout.id }, header: ifMatch(payout) },
          body,
        }),
      ),
  );
  return (
    <form
      class="panel"
      aria-labelledby="validate-title"
      onSubmit={(event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const message = text(form, 'message');
        validate.mutate({
          requireInvoice: form.get('requireInvoice') === 'on',
          requireRewardReview: form.get('requireRewardReview') === 'on',
          ...(message ? { message } : {}),
        });
      }}
    >
      <h2 id="validate-title">Validate and send to the partner</h2>
      <fieldset>
        <legend>The partner must</legend>
        <label class="check">
          <input type="checkbox" name="requireInvoice" /> upload an invoice (PDF)
        </label>
        <label class="check">
          <input type="checkbox" name="requireRewardReview" /> approve or dispute each reward
        </label>
      </fieldset>
      <TextArea
        label="Message to the partner (optional)"
        name="message"
        error={fieldError(validate.error, 'message')}
      />
      <ErrorNote error={validate.error} />
      <button type="submit" disabled={validate.isPending}>
        Validate payout
      </button>
    </form>
  );
}

function InvoiceSection({ payout }: { payout: Payout }) {
  const [downloadError, setDownloadError] = useState<unknown>();
  const reject = useAction((reason: string) =>
    ok(api().POST('/payouts/{id}/invoice/reject', { params: { path: { id: payout.id } }, body: { reason } })),
  );
  const download = async () => {
    try {
      const link = await ok(api().GET('/payouts/{id}/invoice', { params: { path: { id: payout.id } } }));
      location.assign(link.url);
    } catch (error) {
      setDownloadError(error);
    }
  };
  return (
    <section aria-labelledby="invoice-title" class="panel">
      <h2 id="invoice-title">Invoice</h2>
      {payout.invoiceRejection && !payout.invoice && (
        <p class="note">
          The last upload{payout.invoiceRejection.fileName ? ` (${payout.invoiceRejection.fileName})` : ''}{' '}
          was refused by {payout.invoiceRejection.by === 'check' ? 'the file check' : 'a manager'}:{' '}
          {payout.invoiceRejection.reason}.
        </p>
      )}
      {payout.invoice ? (
        <>
          <p>
            <strong>{payout.invoice.fileName}</strong> · {bytes(payout.invoice.size)} · uploaded{' '}
            <Time at={payout.invoice.uploadedAt} />
          </p>
          <div class="actions">
            <button type="button" class="secondary" onClick={download}>
              Download invoice
            </button>
            {payout.status === 'pending' && (
              <ConfirmButton
                label="Reject invoice"
                title="Reject this invoice?"
                confirm="Reject invoice"
                danger
                busy={reject.isPending}
                onConfirm={(form) => reject.mutate(text(form, 'reason') ?? '')}
              >
                <p>The partner is told why and must upload another.</p>
                <Field label="Reason" name="reason" id="invoice-reason" required />
              </ConfirmButton>
            )}
          </div>
        </>
      ) : (
        <p class="muted">
          {payout.requirements.invoice ? 'Required; the partner has not uploaded one yet.' : 'Not required.'}
        </p>
      )}
      <ErrorNote error={downloadError ?? reject.error} />
    </section>
  );
}

function Actions({ payout }: { payout: Payout }) {
  const { route } = useLocation();
  const markPaid = useAction((paymentReference?: string) =>
    ok(
      api().POST('/payouts/{id}/mark-paid', {
        params: { path: { id: payout.id }, header: ifMatch(payout) },
        body: paymentReference ? { paymentReference } : {},
      }),
    ),
  );
  const markFailed = useAction((body: { reason: string; code?: string }) =>
    ok(
      api().POST('/payouts/{id}/mark-failed', {
        params: { path: { id: payout.id }, header: ifMatch(payout) },
        body,
      }),
    ),
  );
  const reissue = useAction(() =>
    ok(api().POST('/payouts/{id}/reissue', { params: { path: { id: payout.id } }, body: {} })),
  );
  const cancel = useAction((reason?: string) =>
    ok(
      api().POST('/payouts/{id}/cancel', {
        params: { path: { id: payout.id }, header: ifMatch(payout) },
        body: reason ? { reason } : {},
      }),
    ),
  );
  const amount = <Money amount={payout.amount} currency={payout.currency} />;
  const canPay = payout.status === 'ready' || payout.status === 'processing';
  const canFail = payout.status === 'processing' || payout.status === 'paid';
  const canReissue = payout.status === 'failed' && !payout.reissuedAs;
  const canCancel = ['draft', 'pending', 'ready', 'failed'].includes(payout.status) && !payout.reissuedAs;
  if (!canPay && !canFail && !canReissue && !canCancel) return null;
  return (
    <div class="actions">
      {canPay && (
        <ConfirmButton
          label="Mark paid"
          title="Mark this payout paid?"
          confirm="Mark paid"
          busy={markPaid.isPending}
          onConfirm={(form) => markPaid.mutate(text(form, 'paymentReference'))}
        >
          <p>Record that {amount} has been paid. Its rewards become paid.</p>
          <Field label="Payment reference (optional)" name="paymentReference" id="payment-reference" />
        </ConfirmButton>
      )}
      {canFail && (
        <ConfirmButton
          label="Mark failed"
          title={payout.status === 'paid' ? 'Record a return of this payment?' : 'Mark this payout failed?'}
          confirm="Mark failed"
          danger
          busy={markFailed.isPending}
          onConfirm={(form) => {
            const code = text(form, 'code')?.toUpperCase();
            markFailed.mutate({ reason: text(form, 'reason') ?? '', ...(code ? { code } : {}) });
          }}
        >
          <p>The partner is told and asked to check their payout details; you can then reissue it.</p>
          <Field label="Reason" name="reason" id="failed-reason" required />
          <Field label="Bank reason code (optional, e.g. AC04)" name="code" id="failed-code" maxLength={4} />
        </ConfirmButton>
      )}
      {canReissue && (
        <ConfirmButton
          label="Reissue payout"
          title="Reissue this payout?"
          confirm="Reissue"
          busy={reissue.isPending}
          onConfirm={() =>
            reissue.mutate(undefined, { onSuccess: (next) => route(`/manage/payouts/${next.id}`) })
          }
        >
          <p>
            A new ready payout of {amount} with the same rewards, to the partner's current payout details.
          </p>
        </ConfirmButton>
      )}
      {canCancel && (
        <ConfirmButton
          label="Cancel payout"
          title="Cancel this payout?"
          confirm="Cancel payout"
          danger
          busy={cancel.isPending}
          onConfirm={(form) => cancel.mutate(text(form, 'reason'))}
        >
          <p>Its rewards ({amount}) are released and can be drafted again.</p>
          <Field label="Reason (optional)" name="reason" id="cancel-reason" />
        </ConfirmButton>
      )}
      <ErrorNote error={markPaid.error ?? markFailed.error ?? reissue.error ?? cancel.error} />
    </div>
  );
}

export function PayoutDetail({ id }: { id: string }) {
  const { payout, rewards, events } = usePayout(id);
  const partners = usePartners();
  const data = payout.data;
  return (
    <>
      <Title>{data ? <>Payout to {partnerName(partners.data, data.partnerId)}</> : 'Payout'}</Title>
      <ErrorNote error={payout.error} />
      {payout.isPending && <Loading what="Loading the payout" />}
      {data && (
        <>
          <dl class="facts">
            <div>
              <dt>Amount</dt>
              <dd class="big">
                <Money amount={data.amount} currency={data.currency} />
              </dd>
            </div>
            <div>
              <dt>Status</dt>
              <dd>
                <Status status={data.status} />
              </dd>
            </div>
            <div>
              <dt>Rewards</dt>
              <dd>{data.rewardCount}</dd>
            </div>
            <div>
              <dt>Partner</dt>
              <dd>
                <a href={`/manage/partners/${data.partnerId}`}>
                  {partnerName(partners.data, data.partnerId)}
                </a>
              </dd>
            </div>
            <div>
              <dt>Requires</dt>
              <dd>
                {[
                  data.requirements.invoice && 'an invoice',
                  data.requirements.rewardReview && 'a reward review',
                ]
                  .filter(Boolean)
                  .join(', ') || 'nothing more'}
              </dd>
            </div>
            {data.paymentReference && (
              <div>
                <dt>Payment reference</dt>
                <dd>{data.paymentReference}</dd>
              </div>
            )}
            <div>
              <dt>Created</dt>
              <dd>
                <Time at={data.createdAt} />
              </dd>
            </div>
          </dl>
          {data.message && (
            <p class="message">
              <strong>Message:</strong> {data.message}
            </p>
          )}
          {data.failure && (
            <p class="note">
              {data.failure.returned ? 'Returned by the bank' : 'Failed'}
              {data.failure.code ? ` (${data.failure.code})` : ''}: {data.failure.reason}
            </p>
          )}
          {data.reissuedAs && (
            <p>
              Reissued as <a href={`/manage/payouts/${data.reissuedAs}`}>{data.reissuedAs}</a>.
            </p>
          )}
          {data.reissueOf && (
            <p>
              Reissue of <a href={`/manage/payouts/${data.reissueOf}`}>{data.reissueOf}</a>.
            </p>
          )}
          <Actions payout={data} />
          <section aria-labelledby="rewards-title">
            <h2 id="rewards-title">Rewards</h2>
            <ErrorNote error={rewards.error} />
            {rewards.isPending ? (
              <Loading what="Loading rewards" />
            ) : (
              <Rewards payout={data} rewards={rewards.data ?? []} />
            )}
          </section>
          {data.status === 'draft' && <Validate payout={data} />}
          {data.status !== 'draft' && <InvoiceSection payout={data} />}
          <section aria-labelledby="history-title">
            <h2 id="history-title">History</h2>
            <ErrorNote error={events.error} />
            {events.isPending ? (
              <Loading what="Loading the history" />
            ) : (
              <History events={events.data ?? []} />
            )}
          </section>
        </>
      )}
    </>
  );
}
