/**
 * Add a partner (/manage/partners/new) or edit one: name, e-mail, country, payout method, billing
 * details and self-billing; hold them; their payouts. A role that may not edit sees no save button.
 */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok, type Partner, type Schemas } from '../../api/client.ts';
import { can } from '../../roles.ts';
import { ErrorNote, Field, fieldError, Loading, Title, text } from '../../ui/kit.tsx';
import { PlaceHoldButton } from '../holds/holds.tsx';
import { useAction } from '../payouts/use-payout.ts';
import { BillingFields, readBilling, SelfBillingState } from './billing.tsx';
import { PayoutMethodFields, readPayoutMethod } from './payout-method.tsx';

function PartnerForm({ partner }: { partner: Partner | undefined }) {
  const { route } = useLocation();
  const [problem, setProblem] = useState<string>();
  const [saved, setSaved] = useState(false);
  const editable = partner ? can('PATCH /partners/{id}') : can('POST /partners');
  const save = useAction(
    async (body: Schemas['UpdatePartner'] & Pick<Schemas['CreatePartner'], 'name' | 'email'>) =>
      partner
        ? ok(api().PATCH('/partners/{id}', { params: { path: { id: partner.id } }, body }))
        : ok(
            api().POST('/partners', {
              body: {
                ...body,
                billing: body.billing ?? undefined,
                country: body.country ?? undefined,
                address: body.address ?? undefined,
                selfBilling: undefined,
              },
            }),
          ),
  );
  return (
    <form
      class="panel stack"
      aria-label={partner ? `${partner.name}'s details` : 'New partner'}
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        const form = new FormData(event.currentTarget);
        const method = readPayoutMethod(form);
        if ('problem' in method) return setProblem(method.problem);
        setProblem(undefined);
        const country = text(form, 'country')?.toUpperCase();
        const billing = readBilling(form);
        const seriesPrefix = text(form, 'seriesPrefix');
        save.mutate(
          {
            name: text(form, 'name') ?? '',
            email: text(form, 'email') ?? '',
            ...(country ? { country } : {}),
            payoutMethod: method.method,
            ...(partner
              ? {
                  billing,
                  selfBilling: {
                    enabled: form.get('selfBilling') === 'on',
                    ...(seriesPrefix ? { seriesPrefix } : {}),
                  },
                }
              : billing
                ? { billing }
                : {}),
          },
          {
            onSuccess: (result) => {
              setSaved(true);
              if (!partner) route(`/manage/partners/${result.id}`);
            },
          },
        );
      }}
    >
      <Field
        label="Name"
        name="name"
        required
        defaultValue={partner?.name ?? ''}
        error={fieldError(save.error, 'name')}
      />
      <Field
        label="E-mail"
        name="email"
        type="email"
        required
        defaultValue={partner?.email ?? ''}
        error={fieldError(save.error, 'email')}
      />
      <Field
        label="Country (ISO code, optional)"
        name="country"
        maxLength={2}
        defaultValue={partner?.country ?? ''}
        error={fieldError(save.error, 'country')}
      />
      <PayoutMethodFields method={partner?.payoutMethod} error={save.error} />
      <BillingFields billing={partner?.billing} error={save.error} prefix="partner" />
      {partner && (
        <fieldset>
          <legend>Self-billing</legend>
          <SelfBillingState partner={partner} />
          <label class="check">
            <input
              type="checkbox"
              name="selfBilling"
              defaultChecked={partner.selfBilling?.enabled ?? false}
            />{' '}
            we issue this partner's invoices (the partner must accept the agreement)
          </label>
          <Field
            label="Invoice series prefix (optional)"
            name="seriesPrefix"
            id="series-prefix"
            defaultValue={partner.selfBilling?.enabled ? partner.selfBilling.seriesPrefix : ''}
            error={fieldError(save.error, 'selfBilling.seriesPrefix')}
          />
        </fieldset>
      )}
      <ErrorNote error={problem ?? save.error} />
      {saved && !save.isPending && <p role="status">Saved.</p>}
      {editable && (
        <button type="submit" disabled={save.isPending}>
          {partner ? 'Save changes' : 'Add partner'}
        </button>
      )}
    </form>
  );
}

export function PartnerEdit({ id }: { id: string }) {
  const isNew = id === 'new';
  const partner = useQuery({
    queryKey: ['partner', id],
    queryFn: () => ok(api().GET('/partners/{id}', { params: { path: { id } } })),
    enabled: !isNew,
  });
  if (isNew)
    return (
      <>
        <Title>Add a partner</Title>
        <PartnerForm partner={undefined} />
      </>
    );
  return (
    <>
      <Title>{partner.data?.name ?? 'Partner'}</Title>
      <ErrorNote error={partner.error} />
      {partner.isPending ? (
        <Loading what="Loading the partner" />
      ) : (
        partner.data && (
          <>
            <p>
              <a href={`/manage/payouts?partnerId=${partner.data.id}`}>Their payouts</a> · id{' '}
              <code>{partner.data.id}</code>
            </p>
            <div class="actions">
              <PlaceHoldButton scope="partner" targetId={partner.data.id} what="this partner" />
            </div>
            <PartnerForm key={partner.data.updatedAt} partner={partner.data} />
          </>
        )
      )}
    </>
  );
}
