/**
 * Approvals: the ready payouts at or above their currency's threshold that wait for a second person
 * (`GET /payouts?needsApproval=true`), each approved with a note by a finance user who did not
 * validate it (422 `same_user`, shown in plain words).
 */
import { useQuery } from '@tanstack/preact-query';
import { api, ok, type Payout } from '../../api/client.ts';
import { can } from '../../roles.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Loading,
  Money,
  Pager,
  TextArea,
  Time,
  Title,
  text,
  usePager,
} from '../../ui/kit.tsx';
import { partnerName, usePartners } from '../partners/use-partners.ts';
import { useAction } from '../payouts/use-payout.ts';

/** Approve one payout, with an optional note (payout detail and the approvals list). */
export function ApproveButton({ payout }: { payout: Payout }) {
  const approve = useAction((note: string | undefined) =>
    ok(
      api().POST('/payouts/{id}/approve', {
        params: { path: { id: payout.id } },
        body: note ? { note } : {},
      }),
    ),
  );
  if (!can('POST /payouts/{id}/approve')) return null;
  return (
    <div class="row-actions">
      <ConfirmButton
        label="Approve"
        context={payout.id}
        title="Approve this payout?"
        confirm="Approve"
        busy={approve.isPending}
        onConfirm={(form) => approve.mutate(text(form, 'note'))}
      >
        <p>
          You approve <Money amount={payout.amount} currency={payout.currency} /> to this partner, as they
          stand now: a change of amount, rewards or payout details voids the approval.
        </p>
        <TextArea label="Note (optional)" name="note" id={`approve-note-${payout.id}`} />
      </ConfirmButton>
      <ErrorNote error={approve.error} />
    </div>
  );
}

export function ApprovalsScreen() {
  const pager = usePager();
  const partners = usePartners();
  const waiting = useQuery({
    queryKey: ['payouts', 'needsApproval', pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/payouts', {
          params: {
            query: { needsApproval: 'true', ...pager.query },
          },
        }),
      ),
  });
  return (
    <>
      <Title>Approvals</Title>
      <p class="hint">
        Payouts at or above their currency's approval threshold wait here once ready: a finance user who did
        not validate one approves it before it can be exported or marked paid.
      </p>
      <ErrorNote error={waiting.error} />
      {waiting.isPending ? (
        <Loading what="Loading what waits for approval" />
      ) : waiting.data?.items.length === 0 ? (
        <Empty>Nothing waits for an approval.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Payouts waiting for an approval</caption>
            <thead>
              <tr>
                <th scope="col">Payout</th>
                <th scope="col">Partner</th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col">Validated</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {waiting.data?.items.map((payout) => (
                <tr key={payout.id}>
                  <td>
                    <a href={`/manage/payouts/${payout.id}`}>{payout.id}</a>
                    {payout.hold && <div class="overdue-note">On hold</div>}
                  </td>
                  <td>{partnerName(partners.data, payout.partnerId)}</td>
                  <td class="num">
                    <Money amount={payout.amountToPay ?? payout.amount} currency={payout.currency} />
                  </td>
                  <td>
                    <Time at={payout.partnerValidatedAt ?? payout.validatedAt} />
                  </td>
                  <td>
                    <ApproveButton payout={payout} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pager={pager} nextCursor={waiting.data?.nextCursor} />
    </>
  );
}
