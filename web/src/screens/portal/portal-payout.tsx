/**
 * One payout, for its partner: the rewards to approve or dispute (with a comment), the invoice upload
 * (presigned POST straight to S3, with progress; the file check's verdict in plain words), validate,
 * or ask for changes.
 */
import { useQuery } from '@tanstack/preact-query';
import { useEffect, useRef, useState } from 'preact/hooks';
import { all, api, ok, type Payout, type Reward } from '../../api/client.ts';
import { bytes } from '../../format.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  fieldError,
  Loading,
  Money,
  Status,
  TextArea,
  Time,
  Title,
  text,
} from '../../ui/kit.tsx';
import { SelfBilledDocuments } from '../payouts/self-billed.tsx';
import { useAction } from '../payouts/use-payout.ts';
import { UploadRefused, uploadFile } from './upload.ts';

function ReviewRow({ payout, reward }: { payout: Payout; reward: Reward }) {
  const [disputing, setDisputing] = useState(false);
  const review = useAction((body: { decision: 'approve' | 'dispute'; comment?: string }) =>
    ok(
      api().POST('/partner/payouts/{id}/rewards/{rewardId}/review', {
        params: { path: { id: payout.id, rewardId: reward.id } },
        body,
      }),
    ),
  );
  const name = reward.description ?? reward.externalId ?? reward.id;
  const open = payout.status === 'pending' && reward.status !== 'refused';
  return (
    <tr>
      <td>{name}</td>
      <td class="num">
        <Money amount={reward.amount} currency={reward.currency} />
      </td>
      <td>
        {reward.status === 'refused' ? (
          <>
            <Status status="refused" />
            {reward.refusalReason && <div class="muted">{reward.refusalReason}</div>}
          </>
        ) : reward.review ? (
          <>
            <Status status={reward.review.decision === 'approve' ? 'approved' : 'disputed'} />
            {reward.review.comment && <div class="muted">“{reward.review.comment}”</div>}
          </>
        ) : (
          <span class="muted">Not reviewed</span>
        )}
      </td>
      <td>
        <div class="row-actions">
          {open && (
            <>
              <button
                type="button"
                class="small"
                disabled={review.isPending || reward.review?.decision === 'approve'}
                onClick={() => review.mutate({ decision: 'approve' })}
              >
                Approve<span class="visually-hidden"> {name}</span>
              </button>
              <button
                type="button"
                class="small secondary"
                aria-expanded={disputing}
                onClick={() => setDisputing(!disputing)}
              >
                Dispute<span class="visually-hidden"> {name}</span>
              </button>
            </>
          )}
          {disputing && open && (
            <form
              class="stack"
              onSubmit={(event) => {
                event.preventDefault();
                const comment = text(new FormData(event.currentTarget), 'comment');
                review.mutate(
                  { decision: 'dispute', ...(comment ? { comment } : {}) },
                  { onSuccess: () => setDisputing(false) },
                );
              }}
            >
              <TextArea
                label={`What is wrong with ${name}?`}
                name="comment"
                id={`comment-${reward.id}`}
                required
                error={fieldError(review.error, 'comment')}
              />
              <button type="submit" class="small" disabled={review.isPending}>
                Send dispute
              </button>
            </form>
          )}
          <ErrorNote error={review.error} />
        </div>
      </td>
    </tr>
  );
}

function InvoiceUpload({
  payout,
  onUploaded,
  onChecked,
}: {
  payout: Payout;
  onUploaded: () => void;
  onChecked: () => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<unknown>();
  const [checking, setChecking] = useState(false);
  const upload = async (event: Event) => {
    event.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) return setError(new Error('Choose a PDF file first.'));
    setError(undefined);
    setProgress(0);
    try {
      const grant = await ok(
        api().POST('/partner/payouts/{id}/invoice', {
          params: { path: { id: payout.id } },
          body: { fileName: file.name },
        }),
      );
      if (file.size > grant.maxBytes)
        throw new UploadRefused(`The file is larger than allowed (${bytes(grant.maxBytes)} at most).`);
      await uploadFile(grant, file, setProgress);
      setChecking(true);
      onUploaded();
    } catch (caught) {
      setError(caught);
    } finally {
      setProgress(undefined);
    }
  };
  return (
    <form class="stack" onSubmit={upload} aria-labelledby="upload-title">
      <h3 id="upload-title">{payout.invoice ? 'Replace the invoice' : 'Upload your invoice'}</h3>
      <div class="field">
        <label for="invoice-file">Invoice (PDF, at most 10 MB)</label>
        <input ref={input} id="invoice-file" name="file" type="file" accept="application/pdf,.pdf" />
      </div>
      {progress !== undefined && (
        <div>
          <label for="upload-progress">Uploading</label>{' '}
          <progress id="upload-progress" max={1} value={progress}>
            {Math.round(progress * 100)}%
          </progress>
        </div>
      )}
      {checking && (
        <InvoiceCheck
          payout={payout}
          done={() => {
            setChecking(false);
            onChecked();
          }}
        />
      )}
      <ErrorNote error={error} />
      <button type="submit" disabled={progress !== undefined}>
        Upload invoice
      </button>
    </form>
  );
}

/** Shown after an upload until the file check has answered (the payout then has the invoice, or says why not). */
function InvoiceCheck({ payout, done }: { payout: Payout; done: () => void }) {
  const before = useRef(payout).current;
  const attached = payout.invoice !== undefined && payout.invoice.uploadedAt !== before.invoice?.uploadedAt;
  const refused =
    payout.invoiceRejection !== undefined && payout.invoiceRejection.at !== before.invoiceRejection?.at;
  const settled = attached || refused;
  useEffect(() => {
    if (settled) done();
  }, [settled]);
  return settled ? null : <Loading what="Checking the file" />;
}

/** A pending self-billed payout: the invoice as it will be issued (a presigned link, fetched on demand). */
function SelfBilledPreview({ payout }: { payout: Payout }) {
  const [error, setError] = useState<unknown>();
  const open = async () => {
    try {
      const preview = await ok(
        api().GET('/partner/payouts/{id}/self-billed-invoice/preview', {
          params: { path: { id: payout.id } },
        }),
      );
      location.assign(preview.url);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <>
      <button type="button" class="secondary" onClick={open}>
        Preview the invoice (PDF)
      </button>
      <ErrorNote error={error} />
    </>
  );
}

export function PortalPayout({ id }: { id: string }) {
  const payout = useQuery({
    queryKey: ['partner-payout', id],
    queryFn: () => ok(api().GET('/partner/payouts/{id}', { params: { path: { id } } })),
  });
  const [watching, setWatching] = useState(false);
  const watched = useQuery({
    queryKey: ['partner-payout', id, 'watch'],
    queryFn: () => ok(api().GET('/partner/payouts/{id}', { params: { path: { id } } })),
    enabled: watching,
    refetchInterval: 700,
  });
  const rewards = useQuery({
    queryKey: ['partner-payout', id, 'rewards'],
    queryFn: () =>
      all<Reward>((cursor) =>
        ok(
          api().GET('/partner/payouts/{id}/rewards', {
            params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        ),
      ),
  });
  const data = watching && watched.data ? watched.data : payout.data;
  const validate = useAction((current: Payout) =>
    ok(api().POST('/partner/payouts/{id}/validate', { params: { path: { id: current.id } }, body: {} })),
  );
  const changes = useAction((comment: string) =>
    ok(api().POST('/partner/payouts/{id}/request-changes', { params: { path: { id } }, body: { comment } })),
  );
  // A refusal answered before the latest change (a review, an upload) is stale: clear it.
  const version = `${data?.version}:${rewards.dataUpdatedAt}`;
  useEffect(() => {
    validate.reset();
  }, [version]);

  return (
    <>
      <Title>
        {data ? (
          <>
            Payout of <Money amount={data.amount} currency={data.currency} />
          </>
        ) : (
          'Payout'
        )}
      </Title>
      <ErrorNote error={payout.error} />
      {payout.isPending && <Loading what="Loading the payout" />}
      {data && (
        <>
          <dl class="facts">
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
            {data.validatedAt && (
              <div>
                <dt>Sent to you</dt>
                <dd>
                  <Time at={data.validatedAt} />
                </dd>
              </div>
            )}
            {data.paidAt && (
              <div>
                <dt>Paid</dt>
                <dd>
                  <Time at={data.paidAt} />
                </dd>
              </div>
            )}
          </dl>
          {data.message && (
            <p class="message">
              <strong>Message from us:</strong> {data.message}
            </p>
          )}
          {data.hold && (
            <div class="note held" role="status">
              <strong>This payout is on hold.</strong>{' '}
              {data.hold.partnerMessage ?? 'We will be in touch; nothing is needed from you for now.'}
            </div>
          )}
          {data.status === 'pending' && (
            <p class="note">
              Please{' '}
              {data.requirements.rewardReview ? 'approve or dispute each reward, ' : 'check the rewards, '}
              {data.requirements.invoiceMode === 'self_billed'
                ? 'check the invoice we issue for you, '
                : data.requirements.invoice
                  ? 'upload your invoice, '
                  : ''}
              then validate.
            </p>
          )}
          <section aria-labelledby="rewards-title">
            <h2 id="rewards-title">Rewards</h2>
            <ErrorNote error={rewards.error} />
            {rewards.isPending ? (
              <Loading what="Loading rewards" />
            ) : rewards.data?.length === 0 ? (
              <Empty>No rewards.</Empty>
            ) : (
              <div class="table-wrap">
                <table class="rewards">
                  <caption class="visually-hidden">Rewards</caption>
                  <thead>
                    <tr>
                      <th scope="col">Reward</th>
                      <th scope="col" class="num">
                        Amount
                      </th>
                      <th scope="col">Your review</th>
                      <th scope="col">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rewards.data?.map((reward) => (
                      <ReviewRow key={reward.id} payout={data} reward={reward} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          {data.requirements.invoiceMode === 'self_billed' ? (
            <section aria-labelledby="invoice-title" class="panel">
              <h2 id="invoice-title">Invoice</h2>
              <p>We issue this payout's invoice for you (self-billing): you do not upload one.</p>
              {data.status === 'pending' && <SelfBilledPreview payout={data} />}
              <SelfBilledDocuments
                payout={data}
                fetchLinks={() =>
                  ok(
                    api().GET('/partner/payouts/{id}/self-billed-invoice', {
                      params: { path: { id: data.id } },
                    }),
                  )
                }
              />
            </section>
          ) : (
            <section aria-labelledby="invoice-title" class="panel">
              <h2 id="invoice-title">Invoice</h2>
              {data.invoiceRejection && !data.invoice && (
                <div class="error" role="alert">
                  {data.invoiceRejection.by === 'check'
                    ? `We could not accept ${data.invoiceRejection.fileName ?? 'your file'}: ${data.invoiceRejection.reason}. Please upload your invoice as a PDF.`
                    : `Your invoice ${data.invoiceRejection.fileName ?? ''} was rejected: ${data.invoiceRejection.reason}. Please upload a corrected one.`}
                </div>
              )}
              {data.invoice ? (
                <p>
                  Received <strong>{data.invoice.fileName}</strong> ({bytes(data.invoice.size)}),{' '}
                  <Time at={data.invoice.uploadedAt} />.
                </p>
              ) : (
                <p class="muted">
                  {data.requirements.invoice ? 'Required before you validate.' : 'Not required.'}
                </p>
              )}
              {data.status === 'pending' && (
                <InvoiceUpload
                  payout={data}
                  onUploaded={() => setWatching(true)}
                  onChecked={() => void payout.refetch().then(() => setWatching(false))}
                />
              )}
            </section>
          )}
          {data.status === 'pending' && (
            <section aria-labelledby="decide" class="panel">
              <h2 id="decide">Validate</h2>
              <ErrorNote error={validate.error ?? changes.error} />
              <div class="actions">
                <ConfirmButton
                  label="Validate payout"
                  title="Validate this payout?"
                  confirm="Validate"
                  busy={validate.isPending}
                  onConfirm={() => validate.mutate(data)}
                >
                  <p>
                    You confirm <Money amount={data.amount} currency={data.currency} /> is right; we then pay
                    it.
                  </p>
                </ConfirmButton>
                <ConfirmButton
                  label="Request changes"
                  title="Ask for changes?"
                  confirm="Send request"
                  busy={changes.isPending}
                  onConfirm={(form) => changes.mutate(text(form, 'comment') ?? '')}
                >
                  <TextArea label="What should change?" name="comment" id="changes-comment" required />
                </ConfirmButton>
              </div>
            </section>
          )}
        </>
      )}
    </>
  );
}
