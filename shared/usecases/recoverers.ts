/**
 * The reconciler's recoverers, run in this order by every scheduled run (AWS and `npm start`).
 * To plug another recovery in, implement `Recoverer` from ./reconcile.ts (idempotent, safe to run
 * concurrently, paged, mindful of `context.deadline`) and add it here.
 */
import { exportRecoverer } from './export-recovery.ts';
import { payoutWorkflowRecoverer, type Recoverer } from './reconcile.ts';

/** Exports first: a rolled-back export's payouts are ready again before their workflows are checked. */
export const RECOVERERS: Recoverer[] = [exportRecoverer, payoutWorkflowRecoverer];
