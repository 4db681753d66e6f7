import { httpHandler } from '#shared/http/handler.ts';
import { PARTNER_ROUTES } from '#shared/http/routes/partners.ts';
import {
  acceptSelfBillingAgreement,
  createPartner,
  getPartner,
  listPartners,
  updatePartner,
} from '#shared/usecases/partners.ts';

export const handler = httpHandler(PARTNER_ROUTES, {
  createPartner: async ({ body }) => ({ body: await createPartner(body) }),
  listPartners: async ({ query }) => ({ body: await listPartners(query) }),
  getPartner: async ({ params }) => ({ body: await getPartner(params.id ?? '') }),
  updatePartner: async ({ params, body }) => ({
    body: await updatePartner((await getPartner(params.id ?? '')).id, body),
  }),
  getProfile: async ({ caller }) => ({ body: await getPartner(caller.partnerId ?? '') }),
  updateProfile: async ({ caller, body }) => ({
    body: await updatePartner((await getPartner(caller.partnerId ?? '')).id, body),
  }),
  acceptSelfBilling: async ({ caller }) => ({
    body: await acceptSelfBillingAgreement(caller.partnerId ?? ''),
  }),
});
