import { httpHandler } from '#shared/http/handler.ts';
import { BANK_REPORT_ROUTES } from '#shared/http/routes/bank-reports.ts';
import {
  getBankReport,
  listBankReportLines,
  listBankReports,
  requestReportUpload,
} from '#shared/usecases/bank-reports.ts';

export const handler = httpHandler(BANK_REPORT_ROUTES, {
  createBankReport: async ({ body, actor }) => ({ body: await requestReportUpload(body.fileName, actor) }),
  listBankReports: async ({ query }) => ({ body: await listBankReports(query) }),
  getBankReport: async ({ params }) => ({ body: await getBankReport(params.id) }),
  listBankReportLines: async ({ params, query }) => ({
    body: await listBankReportLines(params.id, query),
  }),
});
