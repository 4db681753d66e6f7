import { invokeAsync } from '#shared/adapters/clients.ts';
import { draftingConfig } from '#shared/config/drafting.ts';
import { ENV, requireEnv } from '#shared/config/env.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { PAYOUT_RUN_ROUTES } from '#shared/http/routes/payout-runs.ts';
import { createRun, getRun, runWithinBudget, toPayoutRun } from '#shared/usecases/drafting.ts';

const config = draftingConfig();
const draftingFunction = requireEnv(ENV.draftingFunctionName);
/** API Gateway gives an integration 30 s: answer 202 and continue asynchronously past this. */
const BUDGET_MS = 20_000;

export const handler = httpHandler(PAYOUT_RUN_ROUTES, {
  createPayoutRun: async ({ body }) => {
    const run = await createRun(body);
    const { run: result, finished } = await runWithinBudget(
      run,
      { ...config, concurrency: 16 },
      BUDGET_MS,
      (runId) => invokeAsync(draftingFunction, { runId }),
    );
    return { status: finished ? 201 : 202, body: toPayoutRun(result) };
  },
  getPayoutRun: async ({ params }) => ({ body: toPayoutRun(await getRun(params.id)) }),
});
