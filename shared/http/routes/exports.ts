/** The routes of the `exports` function (see ../routes.ts for the whole catalogue). */
import { CreateExport, VoidExport } from '../../domain/export-requests.ts';
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
      'Export ready payouts as a CSV, PayPal, Wise or SEPA file (several files past a provider limit); each payout it takes goes ready → processing (a payout is in at most one live export)',
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
    summary:
      'Get an export with its status, payout ids and fresh download links to the same bytes (15 minutes; active exports only)',
    status: 200,
    response: 'Export',
  }),
  voidExport: route({
    method: 'POST',
    path: '/exports/{id}/void',
    group: 'exports',
    access: 'manager',
    permission: 'finance',
    summary:
      'Void an export: its payouts still processing go back to ready and its file can no longer be downloaded; 409 export_settled once a payout has an outcome',
    body: VoidExport,
    status: 200,
    response: 'Export',
  }),
} as const satisfies Record<string, RouteSpec>;
