/**
 * One payout, for the manager: its rewards (accept, refuse with a reason), validation (invoice and
 * reward-review requirements, a message), the invoice (download, reject), mark paid, cancel, and its
 * history. Actions that move money ask for confirmation; every transition sends If-Match.
 */

import { useQuery } from '@tanstack/preact-query';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { all, api, ok, type Partner, type Payout, type Reward, type Schemas } from '../../api/client.ts';
import { bytes } from '../../format.ts';
import { can } from '../../roles.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
  fieldError,
  Loading,
  Money,
  pure,
  Status,
  TextArea,
  Time,
  Title,
  text,
} from '../../ui/kit.tsx';
import { ApproveButton } from '../approvals/approvals.tsx';
import { HoldsTable, PlaceHoldButton, useActiveHolds } from '../holds/holds.tsx';
import { partnerName, usePartners } from '../partners/use-partners.ts';
import { History } from './history.tsx';
import { SelfBilledDocuments } from './self-billed.tsx';
import { useAction, usePayout, usePayoutRewards } from './use-payout.ts';

const ifMatch = (payout: Payout) => ({ 'If-Match': String(payout.version) });

/**
 * One reward: a plain row (no hooks), so 500 of them render fast; its actions call the table's
 * mutations, and refusing opens the table's one dialog.
 */
const RewardRow = pure(function RewardRow({
  reward,
  canAccept,
  canRefuse,
  busy,
  onAccept,
  onRefuse,
}: {
  reward: Reward;
  canAccept: boolean;
  canRefuse: boolean;
  busy: boolean;
  onAccept: (reward: Reward) => void;
  onRefuse: (reward: Reward, opener: HTMLButtonElement) => void;
}) {
  const name = rewardName(reward);
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
          {canAccept && reward.status === 'pending' && (
            <button type="button" class="small" disabled={busy} onClick={() => onAccept(reward)}>
              Accept<span class="visually-hidden"> {name}</span>
            </button>
          )}
          {canRefuse && reward.status !== 'refused' && (
            <button
              type="button"
              class="danger small"
              disabled={busy}
              onClick={(event) => onRefuse(reward, event.currentTarget)}
            >
              Refuse<span class="visually-hidden"> {name}</span>
            </button>
          )}
        </div>
      </td>
    </tr>
  );
});

const rewardName = (reward: Reward) => reward.description ?? reward.externalId ?? reward.id;

function RefuseDialog({
  reward,
  onRefuse,
  onClose,
}: {
  reward: Reward;
  onRefuse: (reason: string) => void;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => dialog.current?.showModal(), []);
  const name = rewardName(reward);
  return (
    <dialog ref={dialog} aria-labelledby="refuse-title" onClose={onClose}>
      <form
        method="dialog"
        onSubmit={(event) => {
          const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
          if (submitter?.value === 'confirm')
            onRefuse(text(new FormData(event.currentTarget), 'reason') ?? '');
        }}
      >
        <h2 id="refuse-title">Refuse {name}?</h2>
        <p>It leaves the payout's total. The partner sees the reason.</p>
        <Field label="Reason" name="reason" id={`reason-${reward.id}`} required />
        <div class="actions">
          <button type="submit" value="cancel" class="secondary" formNoValidate>
            Go back
          </button>
          <button type="submit" value="confirm" class="danger">
            Refuse reward
          </button>
        </div>
      </form>
    </dialog>
  );
}

function Rewards({ payout, rewards, complete }: { payout: Payout; rewards: Reward[]; complete: boolean }) {
  const accept = useAction((id: string) =>
    ok(api().POST('/rewards/{id}/accept', { params: { path: { id } }, body: {} })),
  );
  const refuse = useAction(({ id, reason }: { id: string; reason: string }) =>
    ok(api().POST('/rewards/{id}/refuse', { params: { path: { id } }, body: { reason } })),
  );
  const [refusing, setRefusing] = useState<{ reward: Reward; opener: HTMLButtonElement }>();
  // Stable handlers: a new page of rewards re-renders only its own rows.
  const acceptRef = useRef(accept.mutate);
  acceptRef.current = accept.mutate;
  const onAccept = useCallback((chosen: Reward) => acceptRef.current(chosen.id), []);
  const onRefuse = useCallback(
    (chosen: Reward, opener: HTMLButtonElement) => setRefusing({ reward: chosen, opener }),
    [],
  );
  if (rewards.length === 0 && complete) return <Empty>This payout has no rewards.</Empty>;
  const draft = payout.status === 'draft';
  const canAccept = draft && can('POST /rewards/{id}/accept');
  const canRefuse = draft && can('POST /rewards/{id}/refuse');
  const busy = accept.isPending || refuse.isPending;
  return (
    <>
      <ErrorNote error={accept.error ?? refuse.error} />
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
              <RewardRow
                key={reward.id}
                reward={reward}
                canAccept={canAccept}
                canRefuse={canRefuse}
                busy={busy}
                onAccept={onAccept}
                onRefuse={onRefuse}
              />
            ))}
          </tbody>
        </table>
      </div>
      {!complete && <Loading what={`Loading rewards (${rewards.length} of ${payout.rewardCount})`} />}
      {refusing && (
        <RefuseDialog
          reward={refusing.reward}
          onRefuse={(reason) => refuse.mutate({ id: refusing.reward.id, reason })}
          onClose={() => {
            refusing.opener.focus();
            setRefusing(undefined);
          }}
        />
      )}
    </>
  );
}

type InvoiceMode = NonNullable<Payout['requirements']['invoiceMode']>;

const INACTIVE_REASONS: Record<string, string> = {
  not_enabled: 'self-billing is not enabled for this partner',
  no_agreement: 'the partner has not accepted the self-billing agreement',
  agreement_expired: "the partner's self-billing agreement has expired",
  billing_incomplete: "the partner's billing details are incomplete",
};

function Validate({ payout, partner }: { payout: Payout; partner: Partner | undefined }) {
  const validate = useAction((body: Schemas['ValidatePayout']) =>
    ok(
      api().POST('/payouts/{id}/validate', {
        params: { path: { id: payout.id }, header: ifMatch(payout) },
        body,
      }),
    ),
  );
  const selfBilling = partner?.selfBilling;
  return (
    <form
      class="panel"
      aria-labelledby="validate-title"
      onSubmit={(event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const message = text(form, 'message');
        validate.mutate({
          invoiceMode: (text(form, 'invoiceMode') ?? 'none') as InvoiceMode,
          requireRewardReview: form.get('requireRewardReview') === 'on',
          ...(message ? { message } : {}),
        });
      }}
    >
      <h2 id="validate-title">Validate and send to the partner</h2>
      <fieldset>
        <legend>Invoice</legend>
        <label class="check">
          <input type="radio" name="invoiceMode" value="none" defaultChecked /> no invoice
        </label>
        <label class="check">
          <input type="radio" name="invoiceMode" value="upload" /> the partner uploads an invoice (PDF)
        </label>
        <label class="check">
          <input type="radio" name="invoiceMode" value="self_billed" /> we issue a self-billed invoice
        </label>
        <small class="hint">
          {selfBilling?.active
            ? `Self-billing is active for this partner (series ${selfBilling.seriesPrefix}).`
            : `Self-billing is not available: ${INACTIVE_REASONS[selfBilling?.inactiveReason ?? 'not_enabled']}.`}
        </small>
      </fieldset>
      <fieldset>
        <legend>The partner must</legend>
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
      {payout.requirements.invoiceMode === 'self_billed' && (
        <SelfBilledDocuments
          payout={payout}
          fetchLinks={() =>
            ok(api().GET('/payouts/{id}/self-billed-invoice', { params: { path: { id: payout.id } } }))
          }
        />
      )}
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
            {payout.status === 'pending' && can('POST /payouts/{id}/invoice/reject') && (
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
      ) : payout.requirements.invoiceMode === 'self_billed' ? null : (
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
  const canPay =
    (payout.status === 'ready' || payout.status === 'processing') && can('POST /payouts/{id}/mark-paid');
  const canFail =
    (payout.status === 'processing' || payout.status === 'paid') && can('POST /payouts/{id}/mark-failed');
  const canReissue = payout.status === 'failed' && !payout.reissuedAs && can('POST /payouts/{id}/reissue');
  const canCancel =
    ['draft', 'pending', 'ready', 'failed'].includes(payout.status) &&
    !payout.reissuedAs &&
    can('POST /payouts/{id}/cancel');
  const canHold = ['draft', 'pending', 'ready', 'processing'].includes(payout.status) && can('POST /holds');
  if (!canPay && !canFail && !canReissue && !canCancel && !canHold) return null;
  return (
    <div class="actions">
      {canHold && <PlaceHoldButton scope="payout" targetId={payout.id} what="this payout" />}
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

/** Whether this ready payout waits for an approval (the API's `needsApproval` list says so). */
function useNeedsApproval(payout: Payout | undefined) {
  return useQuery({
    queryKey: ['payouts', 'needsApproval', payout?.id, payout?.version],
    enabled: payout?.status === 'ready',
    queryFn: async () => {
      const found = await all<Payout>((cursor) =>
        ok(
          api().GET('/payouts', {
            params: {
              query: {
                needsApproval: 'true',
                partnerId: payout?.partnerId ?? '',
                currency: payout?.currency ?? '',
                limit: 100,
                ...(cursor ? { cursor } : {}),
              },
            },
          }),
        ),
      );
      return found.some((candidate) => candidate.id === payout?.id);
    },
  });
}

function Controls({ payout }: { payout: Payout }) {
  // `payout.hold` says whether anything holds it; only then are the holds read.
  const holds = useActiveHolds([payout.id, payout.partnerId], payout.hold !== undefined);
  const needsApproval = useNeedsApproval(payout);
  const active = holds.data ?? [];
  return (
    <>
      {payout.hold && (
        <section class="panel held" aria-labelledby="held-title">
          <h2 id="held-title">On hold</h2>
          <p>
            Nothing moves forward until every hold below is released.
            {payout.hold?.partnerMessage && <> The partner reads: “{payout.hold.partnerMessage}”.</>}
          </p>
          <ErrorNote error={holds.error} />
          <HoldsTable holds={active} caption="Holds on this payout and its partner" />
        </section>
      )}
      {payout.approval ? (
        <p class="note ok">
          Approved by {payout.approval.by} <Time at={payout.approval.at} />
          {payout.approval.note ? `: “${payout.approval.note}”` : '.'}
        </p>
      ) : (
        needsApproval.data && (
          <section class="panel" aria-labelledby="approval-title">
            <h2 id="approval-title">Waiting for an approval</h2>
            <p>
              It is at or above its currency's approval threshold: a finance user who did not validate it
              approves it before it is exported or marked paid.
            </p>
            <ApproveButton payout={payout} />
          </section>
        )
      )}
    </>
  );
}

const INVOICE_MODES: Record<InvoiceMode, string> = {
  none: '',
  upload: 'an uploaded invoice',
  self_billed: 'a self-billed invoice',
};

/**
 * The rewards, a page at a time: their own component, so each arriving page re-renders this section
 * only. Their query starts with the payout's (not after it); the rows wait for the payout.
 */
function RewardsSection({
  id,
  payout,
  onComplete,
}: {
  id: string;
  payout: Payout | undefined;
  onComplete: () => void;
}) {
  const rewards = usePayoutRewards(id);
  const done = rewards.isComplete || rewards.error !== null;
  useEffect(() => {
    if (done) onComplete();
  }, [done, onComplete]);
  if (!payout) return null;
  return (
    <section aria-labelledby="rewards-title">
      <h2 id="rewards-title">Rewards</h2>
      <ErrorNote error={rewards.error} />
      {rewards.isPending ? (
        <Loading what="Loading rewards" />
      ) : (
        <Rewards payout={payout} rewards={rewards.data ?? []} complete={rewards.isComplete} />
      )}
    </section>
  );
}

export function PayoutDetail({ id }: { id: string }) {
  // The history (below the rewards) is read once the rewards are in: they come first.
  const [rewardsIn, setRewardsIn] = useState(false);
  const onRewardsIn = useCallback(() => setRewardsIn(true), []);
  const { payout, events } = usePayout(id, rewardsIn);
  const partners = usePartners();
  const data = payout.data;
  const partner = partners.data?.find((candidate) => candidate.id === data?.partnerId);
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
                  data.requirements.invoiceMode
                    ? INVOICE_MODES[data.requirements.invoiceMode]
                    : data.requirements.invoice && 'an invoice',
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
          {data.amountToPay !== undefined && data.amountToPay !== data.amount && (
            <p>
              With VAT of <Money amount={data.vatAmount ?? 0} currency={data.currency} />, the amount paid is{' '}
              <Money amount={data.amountToPay} currency={data.currency} />.
            </p>
          )}
          <Controls payout={data} />
          <Actions payout={data} />
        </>
      )}
      <RewardsSection id={id} payout={data} onComplete={onRewardsIn} />
      {data && (
        <>
          {data.status === 'draft' && can('POST /payouts/{id}/validate') && (
            <Validate payout={data} partner={partner} />
          )}
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
