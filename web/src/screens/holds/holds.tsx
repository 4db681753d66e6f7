/**
 * Holds: what stops money to a partner, a payout or a reward (reason code, note, the partner's
 * message, the review deadline, highlighted once past); place one, release or confirm it with a
 * note (by someone other than who placed it: the API says so in plain words).
 */
import { useQuery } from '@tanstack/preact-query';
import { useLocation } from 'preact-iso';
import { api, ok, type Schemas } from '../../api/client.ts';
import { can } from '../../roles.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
  Loading,
  Pager,
  Select,
  Status,
  TextArea,
  Time,
  Title,
  text,
  usePager,
} from '../../ui/kit.tsx';
import { useAction } from '../payouts/use-payout.ts';

type Hold = Schemas['Hold'];
type HoldScope = Hold['scope'];
export type ReasonCode = Hold['reasonCode'];

/** Each reason code in plain words (the compiler checks every code of the API has one). */
export const REASONS: Record<ReasonCode, string> = {
  SELF_REFERRAL: 'Self-referral',
  DUPLICATE_ACCOUNT: 'Duplicate account',
  DUPLICATE_PAYOUT_METHOD: 'Payout method shared with another partner',
  PAID_TRAFFIC: 'Paid traffic against the terms',
  BRAND_BIDDING: 'Brand bidding',
  REFUND_RISK: 'Refund risk',
  CHARGEBACK: 'Chargeback',
  KYC_INCOMPLETE: 'Identity checks incomplete',
  TAX_FORM_MISSING: 'Tax form missing',
  SANCTIONS: 'Sanctions screening',
  PAYOUT_METHOD_INVALID: 'Payout method invalid',
  PAYOUT_METHOD_CHANGED: 'Payout method changed',
  INVOICE_DISPUTE: 'Invoice dispute',
  OTHER: 'Other',
};
const REASON_OPTIONS = Object.entries(REASONS).map(([value, label]) => ({
  value,
  label: `${label} (${value})`,
}));
const SCOPES: { value: HoldScope; label: string }[] = [
  { value: 'partner', label: 'Partner (all their payouts and rewards)' },
  { value: 'payout', label: 'Payout' },
  { value: 'reward', label: 'Reward' },
];

function holdBody(form: FormData): Omit<Schemas['CreateHold'], 'scope' | 'targetId'> {
  const note = text(form, 'note');
  const partnerMessage = text(form, 'partnerMessage');
  const reviewBy = text(form, 'reviewBy');
  return {
    reasonCode: (text(form, 'reasonCode') ?? 'OTHER') as ReasonCode,
    ...(note ? { note } : {}),
    ...(partnerMessage ? { partnerMessage } : {}),
    // A date picked in the user's time zone: held until the end of that day.
    ...(reviewBy ? { reviewBy: new Date(`${reviewBy}T23:59:59`).toISOString() } : {}),
  };
}

function HoldFields({ prefix }: { prefix: string }) {
  return (
    <>
      <Select label="Reason" name="reasonCode" id={`${prefix}-reason`} options={REASON_OPTIONS} required />
      <TextArea label="Note for managers (optional)" name="note" id={`${prefix}-note`} />
      <TextArea
        label="Message to the partner (optional; they see only this, and are e-mailed it)"
        name="partnerMessage"
        id={`${prefix}-message`}
      />
      <Field label="Review by (optional)" name="reviewBy" id={`${prefix}-review-by`} type="date" />
    </>
  );
}

/** "Place a hold" on one target (payout detail, partner page), with a confirmation. */
export function PlaceHoldButton({
  scope,
  targetId,
  what,
}: {
  scope: HoldScope;
  targetId: string;
  what: string;
}) {
  const place = useAction((form: FormData) =>
    ok(api().POST('/holds', { body: { scope, targetId, ...holdBody(form) } })),
  );
  if (!can('POST /holds')) return null;
  return (
    <>
      <ConfirmButton
        label={`Hold ${what}`}
        title={`Hold ${what}?`}
        confirm="Place hold"
        danger
        busy={place.isPending}
        onConfirm={(form) => place.mutate(form)}
      >
        <p>Nothing moves forward while the hold is active: no validation, approval, export or payment.</p>
        <HoldFields prefix={`hold-${scope}`} />
      </ConfirmButton>
      <ErrorNote error={place.error} />
    </>
  );
}

function isPast(at: string | undefined): boolean {
  return at !== undefined && Date.parse(at) < Date.now();
}

function targetLink(hold: Hold) {
  if (hold.scope === 'payout') return <a href={`/manage/payouts/${hold.targetId}`}>Payout {hold.targetId}</a>;
  if (hold.scope === 'partner')
    return <a href={`/manage/partners/${hold.targetId}`}>Partner {hold.targetId}</a>;
  return (
    <>
      Reward {hold.targetId} (<a href={`/manage/partners/${hold.partnerId}`}>partner</a>)
    </>
  );
}

function Resolve({ hold }: { hold: Hold }) {
  const release = useAction((note: string) =>
    ok(api().POST('/holds/{id}/release', { params: { path: { id: hold.id } }, body: { note } })),
  );
  const confirm = useAction((note: string) =>
    ok(api().POST('/holds/{id}/confirm', { params: { path: { id: hold.id } }, body: { note } })),
  );
  if (hold.status !== 'active') return null;
  const busy = release.isPending || confirm.isPending;
  return (
    <div class="row-actions">
      {can('POST /holds/{id}/release') && (
        <ConfirmButton
          label="Release"
          context={`hold ${hold.id}`}
          title="Release this hold?"
          confirm="Release"
          busy={busy}
          onConfirm={(form) => release.mutate(text(form, 'note') ?? '')}
        >
          <p>Everything it stopped continues where it stopped.</p>
          <Field label="Note" name="note" id={`release-${hold.id}`} required />
        </ConfirmButton>
      )}
      {can('POST /holds/{id}/confirm') && (
        <ConfirmButton
          label="Confirm"
          context={`hold ${hold.id}`}
          title="Confirm this hold (fraud)?"
          confirm="Confirm hold"
          danger
          busy={busy}
          onConfirm={(form) => confirm.mutate(text(form, 'note') ?? '')}
        >
          <p>
            The held rewards are refused: those in a payout not yet paid leave it; those already paid are
            clawed back.
          </p>
          <Field label="Note" name="note" id={`confirm-${hold.id}`} required />
        </ConfirmButton>
      )}
      <ErrorNote error={release.error ?? confirm.error} />
    </div>
  );
}

export function HoldsTable({ holds, caption }: { holds: Hold[]; caption: string }) {
  if (holds.length === 0) return <Empty>No holds.</Empty>;
  return (
    <div class="table-wrap">
      <table class="holds">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Held</th>
            <th scope="col">Reason</th>
            <th scope="col">Placed</th>
            <th scope="col">Review by</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {holds.map((hold) => {
            const overdue = hold.status === 'active' && (hold.dueForReview || isPast(hold.reviewBy));
            return (
              <tr key={hold.id} class={overdue ? 'overdue' : undefined}>
                <td>{targetLink(hold)}</td>
                <td>
                  <strong>{REASONS[hold.reasonCode]}</strong>
                  {hold.automatic && <span class="muted"> · automatic</span>}
                  {hold.note && <div class="muted">{hold.note}</div>}
                  {hold.partnerMessage && <div class="muted">To the partner: “{hold.partnerMessage}”</div>}
                </td>
                <td>
                  <Time at={hold.createdAt} />
                  <div class="muted">by {hold.createdBy.id}</div>
                </td>
                <td>
                  {hold.reviewBy ? <Time at={hold.reviewBy} /> : <span class="muted">—</span>}
                  {overdue && <div class="overdue-note">Review is overdue</div>}
                </td>
                <td>
                  <Status status={hold.status} />
                  {hold.resolutionNote && <div class="muted">{hold.resolutionNote}</div>}
                  {hold.resolvedBy && <div class="muted">by {hold.resolvedBy.id}</div>}
                </td>
                <td>
                  <Resolve hold={hold} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The active holds on some targets (a payout and its partner), for a detail screen. */
export function useActiveHolds(targetIds: string[], enabled = true) {
  return useQuery({
    queryKey: ['holds', 'active', ...targetIds],
    enabled,
    queryFn: async () => {
      const pages = await Promise.all(
        targetIds.map((targetId) =>
          ok(api().GET('/holds', { params: { query: { active: 'true', targetId, limit: 100 } } })),
        ),
      );
      return pages.flatMap((page) => page.items);
    },
  });
}

function PlaceHoldForm() {
  const place = useAction((form: FormData) =>
    ok(
      api().POST('/holds', {
        body: {
          scope: (text(form, 'scope') ?? 'partner') as HoldScope,
          targetId: text(form, 'targetId') ?? '',
          ...holdBody(form),
        },
      }),
    ),
  );
  return (
    <details class="panel">
      <summary>Place a hold</summary>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget;
          place.mutate(new FormData(form), { onSuccess: () => form.reset() });
        }}
      >
        <Select label="Hold a" name="scope" id="new-hold-scope" options={SCOPES} />
        <Field
          label="Its id"
          name="targetId"
          id="new-hold-target"
          required
          placeholder="pt_… / po_… / rw_…"
        />
        <HoldFields prefix="new-hold" />
        <ErrorNote error={place.error} />
        <button type="submit" disabled={place.isPending}>
          Place hold
        </button>
      </form>
    </details>
  );
}

export function HoldsScreen() {
  const { query, route } = useLocation();
  const pager = usePager();
  const show = query.show === 'all' || query.show === 'review' ? query.show : 'active';
  const holds = useQuery({
    queryKey: ['holds', show, pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/holds', {
          params: {
            query: {
              ...(show === 'active' ? { active: 'true' } : {}),
              ...(show === 'review' ? { dueForReview: 'true' } : {}),
              ...pager.query,
            },
          },
        }),
      ),
  });
  return (
    <>
      <Title>Holds</Title>
      {can('POST /holds') && <PlaceHoldForm />}
      <form
        class="filters"
        onChange={(event) => {
          pager.reset();
          route(`/manage/holds?show=${text(new FormData(event.currentTarget), 'show') ?? 'active'}`);
        }}
        onSubmit={(event) => event.preventDefault()}
      >
        <Select
          label="Show"
          name="show"
          id="holds-show"
          value={show}
          options={[
            { value: 'active', label: 'Active holds' },
            { value: 'review', label: 'Past their review date' },
            { value: 'all', label: 'Every hold' },
          ]}
        />
      </form>
      <ErrorNote error={holds.error} />
      {holds.isPending ? (
        <Loading what="Loading holds" />
      ) : (
        <HoldsTable holds={holds.data?.items ?? []} caption="Holds" />
      )}
      <Pager pager={pager} nextCursor={holds.data?.nextCursor} />
    </>
  );
}
