/**
 * The reconciler's recoverers, run in this order by every scheduled run (AWS and `npm start`).
 * To plug another recovery in (e.g. exports stuck while building), implement `Recoverer` from
 * ./reconcile.ts (idempotent, safe to run concurrently, paged, mindful of `context.deadline`) and
 * add it here.
 */
import { payoutWorkflowRecoverer, type Recoverer } from './reconcile.ts';

export const RECOVERERS: Recoverer[] = [payoutWorkflowRecoverer];
