/** The routes of the `partners` function (see ../routes.ts for the whole catalogue). */
import { CreatePartner, UpdateOwnProfile, UpdatePartner } from '../../domain/partner-schemas.ts';
import { ListQuery } from '../../domain/schemas.ts';
import { type RouteSpec, route } from '../route-spec.ts';

export const PARTNER_ROUTES = {
  createPartner: route({
    method: 'POST',
    path: '/partners',
    group: 'partners',
    access: 'manager',
    summary: 'Create a partner',
    body: CreatePartner,
    status: 201,
    response: 'Partner',
  }),
  listPartners: route({
    method: 'GET',
    path: '/partners',
    group: 'partners',
    access: 'manager',
    summary: 'List partners',
    query: ListQuery,
    status: 200,
    response: 'Partner',
    paged: true,
  }),
  getPartner: route({
    method: 'GET',
    path: '/partners/{id}',
    group: 'partners',
    access: 'manager',
    summary: 'Get a partner',
    status: 200,
    response: 'Partner',
  }),
  updatePartner: route({
    method: 'PATCH',
    path: '/partners/{id}',
    group: 'partners',
    access: 'manager',
    summary: 'Update a partner (null removes an optional field)',
    body: UpdatePartner,
    status: 200,
    response: 'Partner',
  }),
  getProfile: route({
    method: 'GET',
    path: '/partner/profile',
    group: 'partners',
    access: 'partner',
    summary: 'The calling partner’s profile',
    status: 200,
    response: 'Partner',
  }),
  updateProfile: route({
    method: 'PATCH',
    path: '/partner/profile',
    group: 'partners',
    access: 'partner',
    summary: 'Change the calling partner’s payout method or address',
    body: UpdateOwnProfile,
    status: 200,
    response: 'Partner',
  }),
} as const satisfies Record<string, RouteSpec>;
