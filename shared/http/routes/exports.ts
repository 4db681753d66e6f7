/** The routes of the `exports` function (see ../routes.ts for the whole catalogue). */
import { CreateExport } from '../../domain/export-requests.ts';
import { ListQuery } from '../../domain/schemas.ts';
import { type RouteSpec, route } from '../route-spec.ts';

export const EXPORT_ROUTES = {
  createExport: route({
    method: 'POST',
    path: '/exports',
    group: 'exports',
    access: 'manager',
    permission: 'finance',
    summary:
      'Export ready payouts as a CSV, PayPal, Wise or SEPA file (several files past a provider limit); payouts keep their status',
    body: CreateExport,
    status: 201,
    response: 'Export',
  }),
  listExports: route({
    method: 'GET',
    path: '/exports',
    group: 'exports',
    access: 'manager',
    permission: 'read',
    summary: 'List exports, newest first, with fresh download links',
    query: ListQuery,
    status: 200,
    response: 'ExportSummary',
    paged: true,
  }),
  getExport: route({
    method: 'GET',
    path: '/exports/{id}',
    group: 'exports',
    access: 'manager',
    permission: 'read',
    summary: 'Get an export with its payout ids and fresh download links (15 minutes)',
    status: 200,
    response: 'Export',
  }),
} as const satisfies Record<string, RouteSpec>;
