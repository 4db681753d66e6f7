import { httpHandler } from '#shared/http/handler.ts';
import { PARTNER_ROUTES } from '#shared/http/routes/partners.ts';
import {
  acceptSelfBillingAgreement,
  createPartner,
  getPartner,
  listPartnerEvents,
  listPartners,
  updatePartner,
} from '#shared/usecases/partners.ts';

export const handler = httpHandler(PARTNER_ROUTES, {
  createPartner: async ({ body }) => ({ body: await createPartner(body) }),
  listPartners: async ({ query }) => ({ body: await listPartners(query) }),
  getPartner: async ({ params }) => ({ body: await getPartner(params.id) }),
  updatePartner: async ({ params, body, actor }) => ({
    body: await updatePartner((await getPartner(params.id)).id, body, actor),
  }),
  listPartnerEvents: async ({ params, query }) => ({ body: await listPartnerEvents(params.id, query) }),
  getProfile: async ({ caller }) => ({ body: await getPartner(caller.partnerId) }),
  updateProfile: async ({ caller, body, actor }) => ({
    body: await updatePartner((await getPartner(caller.partnerId)).id, body, actor),
  }),
  acceptSelfBilling: async ({ caller }) => ({
    body: await acceptSelfBillingAgreement(caller.partnerId),
  }),
});
