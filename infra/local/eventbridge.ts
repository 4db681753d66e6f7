/**
 * A local EventBridge PutEvents endpoint: a loopback HTTP server speaking `AWSEvents.PutEvents`
 * (JSON 1.1), so an unmodified `EventBridgeClient` pointed at it (explicit `endpoint` or
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`) publishes to in-process rules.
 *
 * Each entry becomes the AWS event envelope (`version, id, detail-type, source, account, time,
 * region, resources, detail`). The answer `{ FailedEntryCount, Entries: [{ EventId }] }` is sent at
 * once; delivery is asynchronous, to every rule on the entry's bus whose pattern matches. A target
 * that throws is retried with exponential backoff; after the last attempt the event is logged and
 * kept in `deadLetters` (what a rule's DLQ would receive). Nothing here can crash the process.
 *
 * Event patterns: exact values of top-level fields, what the stack's rules use (`checkPattern`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLoopback, readRequestBody } from './loopback.ts';

export interface EventBridgeEvent<TDetail = unknown> {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TDetail;
}

/**
 * An event pattern as the stack's rules write them (infra/constructs/workflow.ts and webhooks.ts):
 * top-level fields of the envelope (`source`, `detail-type`), each with the exact values it takes.
 * That is all this stand-in matches; see `checkPattern`.
 */
export type EventPattern = Readonly<Record<string, readonly PatternValue[]>>;
type PatternValue = string | number | boolean | null;

export interface LocalRule {
  name: string;
  /** default `default` */
  eventBusName?: string;
  pattern: EventPattern;
  target: (event: EventBridgeEvent) => Promise<void>;
}

export interface DeadLetter {
  rule: string;
  event: EventBridgeEvent;
  error: string;
  attempts: number;
}

export interface LocalEventBridgeOptions {
  rules: LocalRule[];
  /** default 0 (random); the host is always 127.0.0.1 */
  port?: number;
  log?: (message: string, extra?: unknown) => void;
  /** attempts per rule and event, first one included (default 4) */
  maxAttempts?: number;
  /** delay before the first retry, doubled each time (default 100 ms) */
  retryBaseDelayMs?: number;
  /** default `000000000000` */
  account?: string;
  /** default `us-east-1` */
  region?: string;
}

export interface LocalEventBridge {
  endpoint: string;
  close(): Promise<void>;
  /** the last 1000 events accepted, for tests */
  published: EventBridgeEvent[];
  /** the last 1000 deliveries given up after every retry */
  deadLetters: DeadLetter[];
  /** resolves once every delivery started so far has succeeded or been given up */
  idle(): Promise<void>;
}

const KEPT = 1000;
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 262_144;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- Pattern matching ---------------------------------------------------------------------------------

/**
 * Refuses a pattern this stand-in cannot match: anything beyond top-level fields with arrays of
 * exact values (a nested object such as `detail`, `prefix`, `anything-but`, `exists`, `numeric`, …).
 * The stack's rules use only exact values; a rule that needs more fails when it is added instead of
 * silently never firing.
 */
export function checkPattern(name: string, pattern: unknown): EventPattern {
  if (!isRecord(pattern)) throw new Error(`Rule ${name}: the event pattern is not an object`);
  for (const [field, values] of Object.entries(pattern)) {
    const exact =
      Array.isArray(values) &&
      values.length > 0 &&
      values.every((value) => value === null || ['string', 'number', 'boolean'].includes(typeof value));
    if (!exact) {
      throw new Error(
        `Rule ${name}: ${field} ${JSON.stringify(values)} is not a list of exact values, the only pattern the local EventBridge matches`,
      );
    }
  }
  return pattern as EventPattern;
}

/**
 * EventBridge content filtering for exact values: every field of the pattern must be in the event
 * (AND) with one of the pattern's values (OR), compared strictly (`"1"` is not `1`). An empty
 * pattern matches every event.
 */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return Object.entries(pattern).every(
    ([field, values]) =>
      isRecord(event) && Object.hasOwn(event, field) && values.includes(event[field] as PatternValue),
  );
}

// --- The endpoint -------------------------------------------------------------------------------------

class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function busNameOf(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'default';
  const arn = /^arn:aws[\w-]*:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(value);
  return arn?.[1] ?? value;
}

/** `Time` arrives as epoch seconds from the SDK (JSON 1.1); AWS prints it to the second. */
function eventTime(value: unknown): string {
  const date =
    typeof value === 'number'
      ? new Date(value * 1000)
      : typeof value === 'string' && !Number.isNaN(Date.parse(value))
        ? new Date(value)
        : new Date();
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const log = (message: string, extra?: unknown): void => {
    try {
      if (options.log) options.log(message, extra);
      else if (message.includes('gave up')) console.error(message, extra);
    } catch {
      // a broken logger must not break delivery
    }
  };
  for (const rule of options.rules) checkPattern(rule.name, rule.pattern);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
  const account = options.account ?? '000000000000';
  const region = options.region ?? 'us-east-1';

  const published: EventBridgeEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  let closed = false;

  function settled(): void {
    inFlight--;
    if (inFlight === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  function keep<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > KEPT) list.splice(0, list.length - KEPT);
  }

  function attempt(rule: LocalRule, event: EventBridgeEvent, attemptNumber: number): void {
    if (closed) {
      settled();
      return;
    }
    let delivery: Promise<void>;
    try {
      delivery = Promise.resolve(rule.target(structuredClone(event)));
    } catch (error) {
      delivery = Promise.reject(error);
    }
    delivery.then(
      () => {
        log('eventbridge: delivered', { rule: rule.name, id: event.id, attempt: attemptNumber });
        settled();
      },
      (error: unknown) => {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (attemptNumber >= maxAttempts || closed) {
          keep(deadLetters, { rule: rule.name, event, error: message, attempts: attemptNumber });
          log('eventbridge: delivery gave up; event dead-lettered', {
            rule: rule.name,
            event,
            error: message,
            attempts: attemptNumber,
          });
          settled();
          return;
        }
        const delay = retryBaseDelayMs * 2 ** (attemptNumber - 1);
        log('eventbridge: delivery failed, will retry', {
          rule: rule.name,
          id: event.id,
          error: message,
          delay,
        });
        const timer = setTimeout(() => {
          timers.delete(timer);
          attempt(rule, event, attemptNumber + 1);
        }, delay);
        timers.add(timer);
      },
    );
  }

  function route(event: EventBridgeEvent, busName: string): void {
    for (const rule of options.rules) {
      if ((rule.eventBusName ?? 'default') !== busName) continue;
      let matches = false;
      try {
        matches = matchesPattern(rule.pattern, event);
      } catch (error) {
        log('eventbridge: pattern failed', { rule: rule.name, error });
      }
      if (!matches) continue;
      inFlight++;
      setImmediate(() => attempt(rule, event, 1));
    }
  }

  function putEvents(body: Record<string, unknown>): Record<string, unknown> {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    const results: Record<string, unknown>[] = [];
    const accepted: [EventBridgeEvent, string][] = [];
    for (const entry of entries) {
      const e = isRecord(entry) ? entry : {};
      const { Source: source, DetailType: detailType, Detail: detailText } = e;
      if (
        typeof source !== 'string' ||
        source === '' ||
        typeof detailType !== 'string' ||
        detailType === ''
      ) {
        results.push({
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameter(s) Source or DetailType is not valid.',
        });
        continue;
      }
      let detail: unknown;
      try {
        detail = JSON.parse(typeof detailText === 'string' ? detailText : '');
      } catch {
        detail = undefined;
      }
      if (!isRecord(detail)) {
        results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
        continue;
      }
      const resources = Array.isArray(e.Resources) ? e.Resources.filter((r) => typeof r === 'string') : [];
      const event: EventBridgeEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': detailType,
        source,
        account,
        time: eventTime(e.Time),
        region,
        resources,
        detail,
      };
      results.push({ EventId: event.id });
      accepted.push([event, busNameOf(e.EventBusName)]);
    }
    for (const [event, busName] of accepted) {
      keep(published, event);
      route(event, busName);
    }
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readRequestBody(req);
    const size = raw.length;
    const target = req.headers['x-amz-target'];
    let status = 200;
    let payload: Record<string, unknown>;
    try {
      if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
        throw new ServiceError('UnknownOperationException', `Unknown operation ${String(target)}`);
      }
      if (size > MAX_REQUEST_BYTES) {
        throw new ServiceError(
          'ValidationException',
          'Total size of the entries in the request is over the limit.',
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ServiceError('SerializationException', 'Request body is not valid JSON');
      }
      payload = putEvents(isRecord(body) ? body : {});
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError(
              'InternalException',
              error instanceof Error ? error.message : String(error),
              500,
            );
      status = serviceError.status;
      payload = { __type: serviceError.code, message: serviceError.message };
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  }

  const loopback = await listenLoopback('the EventBridge stand-in', handle, {
    port: options.port,
    onError: (error) => log('eventbridge: request failed', { error }),
  });
  const endpoint = loopback.endpoint;
  log('eventbridge: listening', { endpoint, rules: options.rules.map((r) => r.name) });

  return {
    endpoint,
    published,
    deadLetters,
    idle(): Promise<void> {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close(): Promise<void> {
      closed = true;
      for (const timer of timers) {
        clearTimeout(timer);
        settled();
      }
      timers.clear();
      await loopback.close();
    },
  };
}
