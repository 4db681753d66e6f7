/** Typed errors → `application/problem+json` responses (api.md "Errors"). */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { DomainError, type FieldError, ValidationFailed } from '../domain/errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemResponse(error: DomainError): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: error.status,
    headers: {
      'content-type': PROBLEM_CONTENT_TYPE,
      ...error.headers,
    },
    body: JSON.stringify({
      type: `https://partner-payouts.dev/problems/${error.code}`,
      title: error.title,
      status: error.status,
      code: error.code,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
      ...(error.data ? { data: error.data } : {}),
    }),
  };
}

/** The generic 500: no internals in the body, details only in the logs. */
export function internalErrorResponse(): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 500,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify({
      type: 'https://partner-payouts.dev/problems/internal_error',
      title: 'Internal error',
      status: 500,
      code: 'internal_error',
      detail:
        'Something went wrong on our side; nothing was changed if the request failed before its commit.',
    }),
  };
}

export function fieldErrors(error: z.core.$ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part, index) =>
        typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
      )
      .join('');
    const keys = 'keys' in issue && Array.isArray(issue.keys) ? `: ${issue.keys.join(', ')}` : '';
    return {
      path: prefix ? (path ? `${prefix}.${path}` : prefix) : path || '(body)',
      message: `${issue.message}${keys}`,
    };
  });
}

export function validationError(error: z.core.$ZodError, where: 'body' | 'query'): ValidationFailed {
  return new ValidationFailed(`The request ${where} is invalid`, {
    errors: fieldErrors(error, where === 'query' ? 'query' : ''),
  });
}

export function toDomainError(error: unknown): DomainError | undefined {
  return error instanceof DomainError ? error : undefined;
}
