/**
 * Environment variable names, shared by the CDK code (which sets them) and the handlers (which read
 * them), so the two cannot drift. Handlers read them once, at module load, through `requireEnv`.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  idempotencyTableName: 'IDEMPOTENCY_TABLE_NAME',
  invoiceBucket: 'INVOICE_BUCKET',
  exportBucket: 'EXPORT_BUCKET',
  stateMachineArn: 'STATE_MACHINE_ARN',
  eventBusName: 'EVENT_BUS_NAME',
  reminderIntervalSeconds: 'REMINDER_INTERVAL_SECONDS',
  maxReminders: 'MAX_REMINDERS',
  mailFrom: 'MAIL_FROM',
  managerEmail: 'MANAGER_EMAIL',
  portalUrl: 'PORTAL_URL',
  holdingPeriodDays: 'HOLDING_PERIOD_DAYS',
  minPayoutAmounts: 'MIN_PAYOUT_AMOUNTS',
  payoutSchedule: 'PAYOUT_SCHEDULE',
  payoutScheduleTz: 'PAYOUT_SCHEDULE_TZ',
  sepaDebtorName: 'SEPA_DEBTOR_NAME',
  sepaDebtorIban: 'SEPA_DEBTOR_IBAN',
  sepaDebtorBic: 'SEPA_DEBTOR_BIC',
  corsOrigins: 'CORS_ORIGINS',
  mailDir: 'MAIL_DIR',
  draftingFunctionName: 'DRAFTING_FUNCTION_NAME',
  companyName: 'COMPANY_NAME',
  companyAddress: 'COMPANY_ADDRESS',
  companyVatId: 'COMPANY_VAT_ID',
  selfBillingAgreementVersion: 'SELF_BILLING_AGREEMENT_VERSION',
  selfBillingBucket: 'SELF_BILLING_BUCKET',
  selfBillingFunctionName: 'SELF_BILLING_FUNCTION_NAME',
  approvalThresholds: 'APPROVAL_THRESHOLDS',
  financeEmail: 'FINANCE_EMAIL',
  programManagersEmail: 'PROGRAM_MANAGERS_EMAIL',
  jwtRoleClaim: 'JWT_ROLE_CLAIM',
  jwtRolesClaim: 'JWT_ROLES_CLAIM',
  jwtPartnerIdClaim: 'JWT_PARTNER_ID_CLAIM',
  bankReportBucket: 'BANK_REPORT_BUCKET',
  returnWindowDays: 'RETURN_WINDOW_DAYS',
  processingReminderDays: 'PROCESSING_REMINDER_DAYS',
  /** Local and tests only: the processing reminder in seconds instead of days. */
  processingReminderSeconds: 'PROCESSING_REMINDER_SECONDS',
  webhookQueueUrl: 'WEBHOOK_QUEUE_URL',
  webhookQueueArn: 'WEBHOOK_QUEUE_ARN',
  webhookDlqArn: 'WEBHOOK_DLQ_ARN',
  webhookSchedulerRoleArn: 'WEBHOOK_SCHEDULER_ROLE_ARN',
  webhookScheduleGroup: 'WEBHOOK_SCHEDULE_GROUP',
  webhookRetrySchedule: 'WEBHOOK_RETRY_SCHEDULE',
  webhookDisableAfterDays: 'WEBHOOK_DISABLE_AFTER_DAYS',
  webhookLogDays: 'WEBHOOK_LOG_DAYS',
  webhookRotationOverlapSeconds: 'WEBHOOK_ROTATION_OVERLAP_SECONDS',
  webhooksAllowPrivate: 'WEBHOOKS_ALLOW_PRIVATE',
  /** Tests only: how long a draft or drafting slot stays leased (default 30 s). */
  draftLeaseMs: 'DRAFT_LEASE_MS',
  /** Local only (s3rver): S3 requests path-style. */
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  reconcileIntervalMinutes: 'RECONCILE_INTERVAL_MINUTES',
  reconcileMarginSeconds: 'RECONCILE_MARGIN_SECONDS',
  partnerReviewsPerMinute: 'PARTNER_REVIEWS_PER_MINUTE',
  invoiceUploadsPerMinute: 'INVOICE_UPLOADS_PER_MINUTE',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Reads a required variable; throws naming it when it is missing (fail fast, at cold start). */
export function requireEnv(name: EnvName): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`Missing environment variable ${name}`);
  return value;
}

export function optionalEnv(name: EnvName, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function intEnv(name: EnvName, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}
