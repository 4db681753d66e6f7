/** Add a partner (/manage/partners/new) or edit one: name, e-mail, country, payout method; their payouts. */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok, type Partner, type Schemas } from '../../api/client.ts';
import { ErrorNote, Field, fieldError, Loading, Title, text } from '../../ui/kit.tsx';
import { useAction } from '../payouts/use-payout.ts';
import { PayoutMethodFields, readPayoutMethod } from './payout-method.tsx';

function PartnerForm({ partner }: { partner: Partner | undefined }) {
  const { route } = useLocation();
  const [problem, setProblem] = useState<string>();
  const [saved, setSaved] = useState(false);
  const save = useAction(async (body: Schemas['CreatePartner']) =>
    partner
      ? ok(api().PATCH('/partners/{id}', { params: { path: { id: partner.id } }, body }))
      : ok(api().POST('/partners', { body })),
  );
  return (
    <form
      class="panel stack"
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        const form = new FormData(event.currentTarget);
        const method = readPayoutMethod(form);
        if ('problem' in method) return setProblem(method.problem);
        setProblem(undefined);
        const country = text(form, 'country')?.toUpperCase();
        save.mutate(
          {
            name: text(form, 'name') ?? '',
            email: text(form, 'email') ?? '',
            ...(country ? { country } : {}),
            payoutMethod: method.method,
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
      <ErrorNote error={problem ?? save.error} />
      {saved && !save.isPending && <p role="status">Saved.</p>}
      <button type="submit" disabled={save.isPending}>
        {partner ? 'Save changes' : 'Add partner'}
      </button>
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
            <PartnerForm key={partner.data.updatedAt} partner={partner.data} />
          </>
        )
      )}
    </>
  );
}
