/**
 * The reconciler: a scheduled run (every RECONCILE_INTERVAL_MINUTES; locally too, and once at start)
 * that finds work a lost message left undone and does it again. It runs a list of recoverers, each
 * independent of the others (one failing does not stop the rest; the run then fails so its alarm
 * fires); add one to `RECOVERERS` (./recoverers.ts) to plug another recovery in.
 *
 * The payout workflow recoverer walks the non-terminal payouts through the status index (paged, a
 * projection of a few attributes; no scan) and checks the execution (DescribeExecution) only of
 * those whose workflow is overdue: it has not reported on the payout (each Sync records `syncedAt`)
 * within its wait's timeout plus a margin, or it never started (a recorded failed start, or no
 * record past the margin). A payout with no execution, or whose execution is FAILED, TIMED_OUT,
 * ABORTED (or SUCCEEDED while the payout is not finished), gets attempt n+1, named `<payoutId>-<n+1>`,
 * started at the payout's real status. The attempt is claimed first by a conditional write on the
 * payout (it must still record the execution that was found dead, and still be in the status read),
 * so concurrent runs, and the API changing the payout meanwhile, start it at most once.
 */
import { logger } from '../adapters/observability.ts';
import type { PayoutWorkflowRecord } from '../adapters/payout-store.ts';
import { queryPage } from '../adapters/table.ts';
import {
  describeExecutionStatus,
  executionNameOf,
  recordWorkflow,
  startWorkflowExecution,
  stateMachineArn,
} from '../adapters/workflow.ts';
import { reconcileSettings } from '../config/reconcile.ts';
import { workflowSettings } from '../config/workflow.ts';
import { isTerminal } from '../domain/payout-rules.ts';
import { PAYOUT_STATUSES, type PayoutStatus } from '../domain/schemas.ts';

export interface RecoveryContext {
  now: Date;
  /** Check every candidate, overdue or not (after the local Step Functions emulator restarted). */
  checkAll: boolean;
  /** Stop starting new work after this instant (the function's time budget); the next run goes on. */
  deadline: number;
}

export interface RecoveryReport {
  checked: number;
  recovered: number;
  failed: number;
}

/** One kind of recovery the reconciler runs; it must be idempotent and safe to run concurrently. */
export interface Recoverer {
  name: string;
  recover(context: RecoveryContext): Promise<RecoveryReport>;
}

export interface ReconcileResult {
  at: string;
  recoverers: Record<string, RecoveryReport | { error: string }>;
}

/** Runs every recoverer; throws after all ran if any threw (so the scheduled run fails and alarms). */
export async function runReconciler(
  recoverers: readonly Recoverer[],
  options: { checkAll?: boolean; budgetMs?: number; now?: Date } = {},
): Promise<ReconcileResult> {
  const now = options.now ?? new Date();
  const context: RecoveryContext = {
    now,
    checkAll: options.checkAll ?? false,
    deadline: Date.now() + (options.budgetMs ?? 4 * 60_000),
  };
  const result: ReconcileResult = { at: now.toISOString(), recoverers: {} };
  const errors: unknown[] = [];
  for (const recoverer of recoverers) {
    try {
      result.recoverers[recoverer.name] = await recoverer.recover(context);
    } catch (error) {
      errors.push(error);
      result.recoverers[recoverer.name] = { error: error instanceof Error ? error.message : String(error) };
      logger.error('Recoverer failed', { recoverer: recoverer.name, error });
    }
  }
  logger.info('Reconciled', { ...result });
  if (errors.length > 0) throw new AggregateError(errors, 'A recoverer failed; see the log');
  return result;
}

// ------------------------------------------------------------------ payout workflows

const PROJECTION = ['id', 'status', 'createdAt', 'syncedAt', 'workflow', 'reminders', 'reissuedAs'] as const;
const DEAD = new Set(['FAILED', 'TIMED_OUT', 'ABORTED', 'SUCCEEDED']);

interface Candidate {
  id: string;
  status: PayoutStatus;
  createdAt: string;
  syncedAt?: string;
  workflow?: PayoutWorkflowRecord;
  reminders?: number;
}

/** Why a payout needs a (new) execution, or undefined when its workflow is alive or not overdue. */
export type Verdict = 'start_failed' | 'overdue';

/** Pure: is the payout's workflow overdue (or its start failed)? */
export function judgeWorkflow(
  payout: Pick<Candidate, 'createdAt' | 'syncedAt' | 'workflow'>,
  now: number,
  limits: { waitSeconds: number; marginSeconds: number },
): Verdict | undefined {
  if (payout.workflow?.failedAt) return 'start_failed';
  const synced = payout.syncedAt ?? payout.workflow?.startedAt;
  if (synced) {
    const limit = (limits.waitSeconds + limits.marginSeconds) * 1000;
    return now - Date.parse(synced) > limit ? 'overdue' : undefined;
  }
  // Never reported: a healthy execution syncs within seconds of its start.
  const since = payout.workflow?.requestedAt ?? payout.createdAt;
  return now - Date.parse(since) > limits.marginSeconds * 1000 ? 'overdue' : undefined;
}

async function executionStatus(arn: string, name: string): Promise<string> {
  return describeExecutionStatus(arn, name);
}

async function reconcilePayout(
  arn: string,
  payout: Candidate,
  context: RecoveryContext,
  report: RecoveryReport,
): Promise<void> {
  const limits = {
    waitSeconds: workflowSettings().waitSeconds,
    marginSeconds: reconcileSettings().marginSeconds,
  };
  const judged = judgeWorkflow(payout, context.now.getTime(), limits);
  const verdict = judged ?? (context.checkAll ? 'overdue' : undefined);
  if (!verdict) return;
  report.checked++;
  const current = payout.workflow;
  const currentName = current?.executionName ?? executionNameOf(payout.id, 1);
  let attempt: number;
  if (verdict === 'start_failed' && current) {
    // Start the same name again: if the failed start did create it, that execution is kept.
    attempt = current.attempt;
  } else {
    const status = await executionStatus(arn, currentName);
    if (!DEAD.has(status) && status !== 'MISSING') return; // RUNNING: alive (e.g. a long retry)
    if (!current) attempt = status === 'MISSING' ? 1 : 2;
    // Claimed but never started (a crash between the claim and the start): the same name again.
    else if (status === 'MISSING' && !current.startedAt) attempt = current.attempt;
    else attempt = current.attempt + 1;
  }
  const executionName = executionNameOf(payout.id, attempt);
  const claimed = await recordWorkflow(
    payout.id,
    { executionName, attempt, requestedAt: context.now.toISOString() },
    { ifExecution: current ? current.executionName : null, ifStatus: payout.status },
  );
  if (!claimed) return; // another run, or the payout moved: the next run looks again
  const started = await startWorkflowExecution(arn, {
    payoutId: payout.id,
    stage: payout.status,
    reminders: payout.reminders ?? 0,
    attempt,
  });
  if (started.ok) {
    await recordWorkflow(
      payout.id,
      { executionName, attempt, startedAt: new Date().toISOString() },
      { ifExecution: executionName },
    );
    report.recovered++;
    logger.warn('Started a lost payout workflow', { payoutId: payout.id, executionName, verdict });
  } else {
    report.failed++;
    await recordWorkflow(
      payout.id,
      { executionName, attempt, failedAt: new Date().toISOString(), error: started.error },
      { ifExecution: executionName },
    );
    logger.error('StartExecution failed; the next run retries', {
      payoutId: payout.id,
      error: started.error,
    });
  }
}

/** Every payout in a non-terminal status, page by page, each checked as described above. */
export const payoutWorkflowRecoverer: Recoverer = {
  name: 'payout-workflows',
  async recover(context) {
    const report: RecoveryReport = { checked: 0, recovered: 0, failed: 0 };
    const arn = stateMachineArn();
    if (!arn) return report;
    for (const status of PAYOUT_STATUSES.filter((candidate) => !isTerminal(candidate))) {
      let cursor: string | undefined;
      do {
        if (Date.now() > context.deadline) return report;
        const page = await queryPage({
          index: 'GSI2',
          partition: { name: 'GSI2PK', value: `PAYOUT_STATUS#${status}` },
          projection: PROJECTION,
          limit: 200,
          cursor,
        });
        for (const item of page.items) {
          // A failed payout that was reissued is finished: its successor has its own workflow.
          if (item.reissuedAs !== undefined) continue;
          try {
            await reconcilePayout(arn, item as unknown as Candidate, context, report);
          } catch (error) {
            // One payout (a throttled call) does not stop the others; the next run retries it.
            report.failed++;
            logger.error('Reconciling a payout failed', { payoutId: item.id, error });
          }
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    return report;
  },
};
