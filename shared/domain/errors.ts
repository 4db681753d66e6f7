/**
 * Typed errors, one class per problem+json code of api.md. Use cases throw them; the HTTP layer
 * maps them one-to-one onto responses. Anything else is a 500 with a generic body.
 */
export interface FieldError {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  abstract readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly data: Record<string, unknown> | undefined;
  /** Response headers the problem carries (e.g. `Retry-After`). */
  headers: Record<string, string> | undefined;

  constructor(detail: string, options: { errors?: FieldError[]; data?: Record<string, unknown> } = {}) {
    super(detail);
    this.name = new.target.name;
    this.errors = options.errors;
    this.data = options.data;
  }
}

export class ValidationFailed extends DomainError {
  readonly status = 400;
  readonly code = 'validation_failed';
  readonly title = 'Validation failed';
}

export class Unauthorized extends DomainError {
  readonly status = 401;
  readonly code = 'unauthorized';
  readonly title = 'Unauthorized';
}

export class Forbidden extends DomainError {
  readonly status = 403;
  readonly code = 'forbidden';
  readonly title = 'Forbidden';
}

export class NotFound extends DomainError {
  readonly status = 404;
  readonly code = 'not_found';
  readonly title = 'Not found';
}

export class InvalidTransition extends DomainError {
  readonly status = 409;
  readonly code = 'invalid_transition';
  readonly title = 'Invalid transition';
}

export class Conflict extends DomainError {
  readonly status = 409;
  readonly code = 'conflict';
  readonly title = 'Conflict';
}

/** 409: a hold covers the target (a payout, its partner, or a reward). */
export class OnHold extends DomainError {
  readonly status = 409;
  readonly code = 'on_hold';
  readonly title = 'On hold';
}

export class IdempotencyKeyReused extends DomainError {
  readonly status = 409;
  readonly code = 'idempotency_key_reused';
  readonly title = 'Idempotency key reused';
}

export class PreconditionFailed extends DomainError {
  readonly status = 412;
  readonly code = 'precondition_failed';
  readonly title = 'Precondition failed';
}

export class PayloadTooLarge extends DomainError {
  readonly status = 413;
  readonly code = 'payload_too_large';
  readonly title = 'Payload too large';
}

export class UnsupportedMediaType extends DomainError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
  readonly title = 'Unsupported media type';
}

/** 429: too many requests of this kind; `Retry-After` (seconds) says when to try again. */
export class RateLimited extends DomainError {
  readonly status = 429;
  readonly code = 'rate_limited';
  readonly title = 'Too many requests';
  readonly retryAfterSeconds: number;

  constructor(detail: string, retryAfterSeconds: number) {
    super(detail, { data: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

export const BUSINESS_RULES = [
  'rewards_not_reviewed',
  'non_positive_amount',
  'invoice_required',
  'rewards_review_required',
  'rewards_disputed',
  'currency_mismatch',
  'no_eligible_rewards',
  'missing_payout_details',
  'unknown_partner',
  'unknown_reward',
  'partner_mismatch',
  'reward_not_eligible',
  'too_many_rewards',
  'self_billing_inactive',
  'billing_details_incomplete',
  'same_user',
  'approval_required',
  'approval_not_required',
  'unknown_target',
  'webhook_url_not_allowed',
] as const;
export type BusinessRule = (typeof BUSINESS_RULES)[number];

/** 422: a business rule refuses the request. */
export class RuleViolation extends DomainError {
  readonly status = 422;
  readonly title = 'Business rule violated';
  readonly code: BusinessRule;

  constructor(
    code: BusinessRule,
    detail: string,
    options: { errors?: FieldError[]; data?: Record<string, unknown> } = {},
  ) {
    super(detail, options);
    this.code = code;
  }
}
