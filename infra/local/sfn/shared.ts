/**
 * What the parts of the local Step Functions endpoint share: the library's types, an execution's
 * record, the two error kinds and the JSON helpers.
 */
import type { RunOptions } from 'aws-local-stepfunctions';

export type LocalLambda = (payload: unknown) => Promise<unknown>;

/** What `$$.Task.Token` resolves to inside the library; replaced by a real token in callback payloads. */
export const TASK_TOKEN_SENTINEL = '__LOCAL_SFN_TASK_TOKEN__';

export const MAX_PAYLOAD_CHARS = 262_144;

// --- Types borrowed from the library --------------------------------------------------------------

export type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type LocalHandler = LocalHandlers[string];
export type JSONValue = Parameters<LocalHandler>[0];
export type RunContext = NonNullable<RunOptions['context']>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  canonicalInput: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  abort: () => void;
  tokens: Set<string>;
  transitions: number;
}

/** An error the library neither retries nor catches: used to end stopped executions at once. */
export class UncatchableError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A Step Functions API error, answered as HTTP 400 with the JSON 1.0 `__type` the SDK maps to a class. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

// --- Small helpers ----------------------------------------------------------------------------------

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** JSON round trip: what crossing a process boundary does to a value (undefined -> null). */
export function toJson(value: unknown): JSONValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JSONValue);
}

/**
 * A JSON text parameter (an execution's `input`, a task's `output`): at most 256 KiB, and valid JSON,
 * else the error the service answers (`invalid`).
 */
export function parseJsonParameter(
  text: string,
  field: 'input' | 'output',
  invalid: ServiceError,
): JSONValue {
  if (text.length > MAX_PAYLOAD_CHARS) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_CHARS}`,
    );
  }
  try {
    return JSON.parse(text) as JSONValue;
  } catch {
    throw invalid;
  }
}
