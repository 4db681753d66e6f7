/** The routes of the `bank-reports` function (see ../routes.ts for the whole catalogue). */
import { CreateBankReport } from '../../domain/bank-report-requests.ts';
import { ListQuery } from '../../domain/schemas.ts';
import { type RouteSpec, route } from '../route-spec.ts';

export const BANK_REPORT_ROUTES = {
  createBankReport: route({
    method: 'POST',
    path: '/bank-reports',
    group: 'bank-reports',
    access: 'manager',
    permission: 'finance',
    summary:
      'Upload a bank report (pain.002, camt.054, camt.053): a presigned POST for one XML file of at most 20 MiB, valid 15 minutes; the report is checked and applied when the file lands',
    body: CreateBankReport,
    status: 201,
    response: 'BankReportUpload',
  }),
  listBankReports: route({
    method: 'GET',
    path: '/bank-reports',
    group: 'bank-reports',
    access: 'manager',
    permission: 'read',
    summary: 'List bank reports, newest first',
    query: ListQuery,
    status: 200,
    response: 'BankReport',
    paged: true,
  }),
  getBankReport: route({
    method: 'GET',
    path: '/bank-reports/{id}',
    group: 'bank-reports',
    access: 'manager',
    permission: 'read',
    summary: 'A bank report: its status, message and counts',
    status: 200,
    response: 'BankReport',
  }),
  listBankReportLines: route({
    method: 'GET',
    path: '/bank-reports/{id}/lines',
    group: 'bank-reports',
    access: 'manager',
    permission: 'read',
    summary: 'The lines of a bank report, in file order, each with what it did',
    query: ListQuery,
    status: 200,
    response: 'BankReportLine',
    paged: true,
  }),
} as const satisfies Record<string, RouteSpec>;
