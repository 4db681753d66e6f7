/** The partner's own profile: name and e-mail (the manager changes those), address and payout method. */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { api, ok, type Partner, type Schemas } from '../../api/client.ts';
import { ErrorNote, Field, fieldError, Loading, Title, text } from '../../ui/kit.tsx';
import { BillingFields, readBilling, SelfBillingState } from '../partners/billing.tsx';
import { PayoutMethodFields, readPayoutMethod } from '../partners/payout-method.tsx';
import { useAction } from '../payouts/use-payout.ts';

function ProfileForm({
  partner,
  saved,
  setSaved,
}: {
  partner: Partner;
  saved: boolean;
  setSaved: (saved: boolean) => void;
}) {
  const [problem, setProblem] = useState<string>();
  const save = useAction((body: Schemas['UpdateOwnProfile']) =>
    ok(api().PATCH('/partner/profile', { body })),
  );
  const address = partner.address;
  const err = (field: string) => fieldError(save.error, `address.${field}`);
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
        const line1 = text(form, 'line1');
        const line2 = text(form, 'line2');
        const postalCode = text(form, 'postalCode');
        save.mutate(
          {
            payoutMethod: method.method,
            billing: readBilling(form),
            address: line1
              ? {
                  line1,
                  ...(line2 ? { line2 } : {}),
                  city: text(form, 'city') ?? '',
                  ...(postalCode ? { postalCode } : {}),
                  country: (text(form, 'addressCountry') ?? '').toUpperCase(),
                }
              : null,
          },
          { onSuccess: () => setSaved(true) },
        );
      }}
    >
      <fieldset>
        <legend>Billing address</legend>
        <Field label="Address line 1" name="line1" defaultValue={address?.line1 ?? ''} error={err('line1')} />
        <Field label="Address line 2" name="line2" defaultValue={address?.line2 ?? ''} error={err('line2')} />
        <Field
          label="Postal code"
          name="postalCode"
          defaultValue={address?.postalCode ?? ''}
          error={err('postalCode')}
        />
        <Field label="City" name="city" defaultValue={address?.city ?? ''} error={err('city')} />
        <Field
          label="Country (ISO code)"
          name="addressCountry"
          maxLength={2}
          defaultValue={address?.country ?? ''}
          error={err('country')}
        />
      </fieldset>
      <BillingFields billing={partner.billing} error={save.error} prefix="own" />
      <PayoutMethodFields method={partner.payoutMethod} error={save.error} prefix="own" />
      <ErrorNote error={problem ?? save.error} />
      {saved && !save.isPending && <p role="status">Saved.</p>}
      <button type="submit" disabled={save.isPending}>
        Save
      </button>
    </form>
  );
}

/** Self-billing: its state, and the agreement to accept once the manager enabled it. */
function SelfBilling({ partner }: { partner: Partner }) {
  const accept = useAction(() => ok(api().POST('/partner/self-billing/accept', { body: {} })));
  const state = partner.selfBilling;
  if (!state?.enabled) return null;
  const mustAccept = state.inactiveReason === 'no_agreement' || state.inactiveReason === 'agreement_expired';
  return (
    <section class="panel" aria-labelledby="self-billing-title">
      <h2 id="self-billing-title">Self-billing</h2>
      <SelfBillingState partner={partner} />
      {mustAccept && (
        <>
          <p>
            We issue your invoices for you (self-billing): each payout's invoice is made in your name,
            numbered in your series, and you do not upload one. By accepting you agree to this for twelve
            months and will not issue invoices of your own for the same payouts.
          </p>
          <button type="button" disabled={accept.isPending} onClick={() => accept.mutate(undefined)}>
            Accept the self-billing agreement
          </button>
        </>
      )}
      <ErrorNote error={accept.error} />
    </section>
  );
}

export function Profile() {
  // Kept here: the form is remade with the saved profile (its key), and "Saved." stays.
  const [saved, setSaved] = useState(false);
  const profile = useQuery({ queryKey: ['profile'], queryFn: () => ok(api().GET('/partner/profile')) });
  return (
    <>
      <Title>Profile</Title>
      <ErrorNote error={profile.error} />
      {profile.isPending ? (
        <Loading what="Loading your profile" />
      ) : (
        profile.data && (
          <>
            <dl class="facts">
              <div>
                <dt>Name</dt>
                <dd>{profile.data.name}</dd>
              </div>
              <div>
                <dt>E-mail</dt>
                <dd>{profile.data.email}</dd>
              </div>
            </dl>
            <p class="hint">To change your name or e-mail, write to us.</p>
            <SelfBilling partner={profile.data} />
            <ProfileForm
              key={profile.data.updatedAt}
              partner={profile.data}
              saved={saved}
              setSaved={setSaved}
            />
          </>
        )
      )}
    </>
  );
}
