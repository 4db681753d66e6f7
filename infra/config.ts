/**
 * The stack's configuration, in one typed place: CDK context (`-c name=value` or cdk.json) with
 * defaults. The README documents every entry.
 */
import type { Node } from 'constructs';
import {
  DEFAULT_INVOICE_UPLOADS_PER_MINUTE,
  DEFAULT_PARTNER_REVIEWS_PER_MINUTE,
} from '#shared/config/rate-limits.ts';
import { FUNCTION_GROUPS, type FunctionGroup } from '#shared/http/route-spec.ts';

export interface PayoutsConfig {
  /** `prod` keeps data (RETAIN, deletion protection); other stages are disposable. */
  stage: string;
  /** JWT issuer and audience of an external identity provider; a Cognito user pool is created when unset. */
  jwtIssuer?: string;
  jwtAudience?: string[];
  /** The external issuer's claim names: a single role, an array of roles, the partner id. */
  jwtRoleClaim?: string;
  jwtRolesClaim?: string;
  jwtPartnerIdClaim?: string;
  /** Origins allowed to POST invoices to the bucket and call the API from a browser. */
  corsOrigins: string[];
  mailFrom: string;
  managerEmail: string;
  portalUrl: string;
  reminderIntervalSeconds: number;
  maxReminders: number;
  /** How long after its payment a payout may still be marked failed (returned) by hand. */
  returnWindowDays: number;
  /** A processing payout without an outcome this long reminds the manager. */
  processingReminderDays: number;
  holdingPeriodDays: number;
  minPayoutAmounts: string;
  /** Four-eyes approval thresholds, `EUR:100000,USD:100000` (minor units); none by default. */
  approvalThresholds: string;
  /** Daily digest recipients (default: managerEmail). */
  financeEmail?: string;
  programManagersEmail?: string;
  payoutSchedule: string;
  payoutScheduleTz: string;
  sepaDebtorName: string;
  sepaDebtorIban: string;
  sepaDebtorBic: string;
  /** The company as the customer on self-billed invoices; `companyAddress` is `line1|postalCode|city|CC`. */
  companyName: string;
  companyAddress: string;
  companyVatId: string;
  /** Version of the self-billing agreement text partners accept. */
  selfBillingAgreementVersion: string;
  /** `prod`: S3 Object Lock (governance) retention of issued self-billed documents, in years. */
  invoiceRetentionYears: number;
  /** Subscribed (e-mail, to confirm) to the alarm topic; alarms still go to the topic without it. */
  alarmEmail?: string;
  logRetentionDays: number;
  /** Default throttling of the API's `$default` stage: steady requests per second, and burst. */
  apiThrottleRateLimit: number;
  apiThrottleBurstLimit: number;
  /** How often the reconciler restarts lost payout workflows (minutes). */
  reconcileIntervalMinutes: number;
  /** Per payout and minute: partner reviews and invoice upload grants (429 beyond; 0 = no cap). */
  partnerReviewsPerMinute: number;
  invoiceUploadsPerMinute: number;
  /** Throttling of the partner routes, each (steady requests per second, and burst). */
  partnerThrottleRateLimit: number;
  partnerThrottleBurstLimit: number;
  /**
   * Reserved concurrency of the API functions (context `reservedConcurrency`): `10` for each, or
   * `partner-payouts:5,payouts:10` by function; unset (default): none reserved.
   */
  reservedConcurrency?: Partial<Record<FunctionGroup, number>>;
}

/** `10` (each API function) or `group:n,group:n`. */
export function parseReservedConcurrency(value: string): Partial<Record<FunctionGroup, number>> {
  const count = (raw: string) => {
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`Context reservedConcurrency: ${raw} is not a positive integer`);
    return n;
  };
  if (!value.includes(':')) {
    const n = count(value);
    return Object.fromEntries(FUNCTION_GROUPS.map((group) => [group, n]));
  }
  const result: Partial<Record<FunctionGroup, number>> = {};
  for (const part of value.split(',')) {
    const [group = '', raw = ''] = part.split(':');
    if (!(FUNCTION_GROUPS as readonly string[]).includes(group.trim())) {
      throw new Error(
        `Context reservedConcurrency: ${group} is not an API function (${FUNCTION_GROUPS.join(', ')})`,
      );
    }
    result[group.trim() as FunctionGroup] = count(raw);
  }
  return result;
}

function read(node: Node, name: string): string | undefined {
  const value = node.tryGetContext(name);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

export function loadConfig(node: Node): PayoutsConfig {
  const stage = read(node, 'stage') ?? 'dev';
  const number = (name: string, fallback: number) => {
    const raw = read(node, name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`Context ${name} must be a non-negative integer`);
    return value;
  };
  const positive = (name: string, fallback: number) => {
    const value = number(name, fallback);
    if (value === 0) throw new Error(`Context ${name} must be a positive integer`);
    return value;
  };
  const list = (name: string, fallback: string[]) =>
    read(node, name)
      ?.split(',')
      .map((part) => part.trim())
      .filter(Boolean) ?? fallback;
  return {
    stage,
    jwtIssuer: read(node, 'jwtIssuer'),
    jwtAudience: read(node, 'jwtAudience') ? list('jwtAudience', []) : undefined,
    jwtRoleClaim: read(node, 'jwtRoleClaim'),
    jwtRolesClaim: read(node, 'jwtRolesClaim'),
    jwtPartnerIdClaim: read(node, 'jwtPartnerIdClaim'),
    corsOrigins: list('corsOrigins', ['http://localhost:5173']),
    mailFrom: read(node, 'mailFrom') ?? 'payouts@example.com',
    managerEmail: read(node, 'managerEmail') ?? 'finance@example.com',
    portalUrl: read(node, 'portalUrl') ?? 'https://partners.example.com',
    reminderIntervalSeconds: number('reminderIntervalSeconds', 3 * 24 * 3600),
    maxReminders: number('maxReminders', 5),
    returnWindowDays: number('returnWindowDays', 30),
    processingReminderDays: number('processingReminderDays', 5),
    holdingPeriodDays: number('holdingPeriodDays', 0),
    minPayoutAmounts: read(node, 'minPayoutAmounts') ?? '',
    approvalThresholds: read(node, 'approvalThresholds') ?? '',
    financeEmail: read(node, 'financeEmail'),
    programManagersEmail: read(node, 'programManagersEmail'),
    payoutSchedule: read(node, 'payoutSchedule') ?? '0 2 1 * ? *',
    payoutScheduleTz: read(node, 'payoutScheduleTz') ?? 'UTC',
    sepaDebtorName: read(node, 'sepaDebtorName') ?? 'Example Company',
    sepaDebtorIban: read(node, 'sepaDebtorIban') ?? 'DE89370400440532013000',
    sepaDebtorBic: read(node, 'sepaDebtorBic') ?? 'COBADEFFXXX',
    companyName: read(node, 'companyName') ?? 'Example Company B.V.',
    companyAddress: read(node, 'companyAddress') ?? 'Keizersgracht 1|1015 CJ|Amsterdam|NL',
    companyVatId: read(node, 'companyVatId') ?? 'NL004495445B01',
    selfBillingAgreementVersion: read(node, 'selfBillingAgreementVersion') ?? '2026-01',
    invoiceRetentionYears: positive('invoiceRetentionYears', 10),
    alarmEmail: read(node, 'alarmEmail'),
    logRetentionDays: number('logRetentionDays', stage === 'prod' ? 365 : 30),
    apiThrottleRateLimit: positive('apiThrottleRateLimit', 100),
    apiThrottleBurstLimit: positive('apiThrottleBurstLimit', 200),
    reconcileIntervalMinutes: positive('reconcileIntervalMinutes', 15),
    partnerReviewsPerMinute: number('partnerReviewsPerMinute', DEFAULT_PARTNER_REVIEWS_PER_MINUTE),
    invoiceUploadsPerMinute: number('invoiceUploadsPerMinute', DEFAULT_INVOICE_UPLOADS_PER_MINUTE),
    partnerThrottleRateLimit: positive('partnerThrottleRateLimit', 20),
    partnerThrottleBurstLimit: positive('partnerThrottleBurstLimit', 40),
    ...(read(node, 'reservedConcurrency') === undefined
      ? {}
      : { reservedConcurrency: parseReservedConcurrency(read(node, 'reservedConcurrency') ?? '') }),
  };
}
