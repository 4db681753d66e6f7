/**
 * The inputs of the payout workflow's Task states (infra/workflow/payout.asl.json), one schema per
 * action, declared once: the workflow and self-billing functions parse their event with them, and
 * test/workflow/asl.test.ts holds every Task's `Payload` in the ASL to the keys declared here.
 */
import * as z from 'zod/mini';
import { PAYOUT_STATUSES } from './schemas.ts';

/** The statuses a callback Task waits in (its task token is parked on the payout for that stage). */
export const WAIT_STAGES = ['draft', 'pending', 'ready', 'processing', 'failed'] as const;
export const WaitStage = z.enum(WAIT_STAGES);
export type WaitStage = z.infer<typeof WaitStage>;

/** Where the execution believes the payout is: a status, or `start` before its first Sync. */
export const SyncStage = z.enum([...PAYOUT_STATUSES, 'start']);

/**
 * What woke Sync up: null at the start, the SendTaskSuccess output (`{ payoutId }`) after a
 * callback, or the caught error (`{ Error, Cause }`) after a timeout or a failed wait.
 */
const Signal = z.nullish(z.looseObject({ Error: z.optional(z.string()) }));

const payoutId = z.string();
const reminders = z.int();

/** `AwaitManagerValidation`, `AwaitPartnerValidation`, `AwaitPayment`, `AwaitOutcome`, `AwaitReissue`. */
export const ParkAction = z.object({
  action: z.literal('park'),
  payoutId,
  stage: WaitStage,
  token: z.string(),
});

/** `Sync`: publishes the history not yet published and says where the payout really is. */
export const SyncAction = z.object({
  action: z.literal('sync'),
  payoutId,
  stage: SyncStage,
  reminders,
  signal: Signal,
  executionStartTime: z.optional(z.string()),
  executionName: z.optional(z.string()),
});

/** `Remind` (the partner) and `RemindManager` (a processing payout). */
export const RemindAction = z.object({ action: z.literal('remind'), payoutId, reminders });
export const RemindManagerAction = z.object({ action: z.literal('remind_manager'), payoutId, reminders });

/** `PayRewards`, `MoveRewards`, `ReleaseRewards`: the follow-ups of paid, reissued and cancelled. */
export const PayRewardsAction = z.object({ action: z.literal('pay_rewards'), payoutId });
export const MoveRewardsAction = z.object({ action: z.literal('move_rewards'), payoutId });
export const ReleaseRewardsAction = z.object({ action: z.literal('release_rewards'), payoutId });

/** `ContinueAsNew`: near the one-year execution limit, the next generation of the execution. */
export const ContinueAction = z.object({
  action: z.literal('continue'),
  payoutId,
  stage: SyncStage,
  reminders,
  executionName: z.string(),
});

/** Every action of the workflow function. */
export const WORKFLOW_ACTIONS = [
  ParkAction,
  SyncAction,
  RemindAction,
  RemindManagerAction,
  PayRewardsAction,
  MoveRewardsAction,
  ReleaseRewardsAction,
  ContinueAction,
] as const;
export const WorkflowAction = z.discriminatedUnion('action', [...WORKFLOW_ACTIONS]);
export type WorkflowAction = z.infer<typeof WorkflowAction>;
export type WorkflowActionOf<A extends WorkflowAction['action']> = Extract<WorkflowAction, { action: A }>;

/** `IssueSelfBilledDocuments` (the workflow) and `preview` (invoked by the partner-payouts function). */
export const IssueAction = z.object({ action: z.literal('issue'), payoutId });
export const PreviewAction = z.object({ action: z.literal('preview'), payoutId });

/** Every action of the self-billing function. */
export const SELF_BILLING_ACTIONS = [IssueAction, PreviewAction] as const;
export const SelfBillingAction = z.discriminatedUnion('action', [...SELF_BILLING_ACTIONS]);
export type SelfBillingAction = z.infer<typeof SelfBillingAction>;
