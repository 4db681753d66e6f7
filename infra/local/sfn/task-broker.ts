/**
 * The task-token broker of the local Step Functions endpoint: the handlers the library runs for each
 * Task state (`lambda:invoke`, `.waitForTaskToken`, a direct Lambda ARN), the tokens of the waiting
 * callback tasks with their timeout and heartbeat timers, and SendTaskSuccess / SendTaskFailure /
 * SendTaskHeartbeat on them. How the library behaves, and what is emulated, is in ../stepfunctions.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { MachineRecord, TaskInfo } from './definition.ts';
import { functionNameOf } from './definition.ts';
import {
  type ExecutionRecord,
  isRecord,
  type JSONValue,
  type LocalHandlers,
  type LocalLambda,
  num,
  parseJsonParameter,
  type RunContext,
  ServiceError,
  str,
  TASK_TOKEN_SENTINEL,
  toJson,
  UncatchableError,
} from './shared.ts';

// --- Promise.withResolvers polyfill (Node 20) ------------------------------------------------------

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

function withResolvers<T>(): Resolvers<T> {
  let resolve: (value: T | PromiseLike<T>) => void = () => {};
  let reject: (reason?: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    value: withResolvers,
    writable: true,
    configurable: true,
  });
}

const DEFAULT_TASK_TIMEOUT_SECONDS = 60; // aws-local-stepfunctions' default
const RETIRED_TOKENS_KEPT = 10_000;

interface PendingTask {
  token: string;
  execution: ExecutionRecord;
  stateName: string;
  resolve: (value: JSONValue) => void;
  reject: (reason: unknown) => void;
  timers: { timeout?: NodeJS.Timeout; heartbeat?: NodeJS.Timeout };
  heartbeatMs?: number;
}

function replaceSentinel(value: JSONValue, token: string): JSONValue {
  if (typeof value === 'string') return value.split(TASK_TOKEN_SENTINEL).join(token);
  if (Array.isArray(value)) return value.map((item) => replaceSentinel(item, token));
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, replaceSentinel(v as JSONValue, token)]),
    );
  }
  return value;
}

/** Reads a simple JSONPath (`$`, `$.a.b`, `$$.a.b`) as used by `TimeoutSecondsPath`/`HeartbeatSecondsPath`. */
function readPath(path: string, input: unknown, context: unknown): unknown {
  const fromContext = path.startsWith('$$');
  let current: unknown = fromContext ? context : input;
  const rest = path.slice(fromContext ? 2 : 1);
  for (const segment of rest.split('.').filter((s) => s !== '')) {
    if (!isRecord(current)) return undefined;
    current = current[segment];
  }
  return current;
}

/**
 * The library's `States.Timeout` class is not exported; a heartbeat timeout must be an instance of it
 * so that `States.TaskFailed` does not match it. Obtained once by timing out a 1 ms task.
 */
let timeoutErrorPrototype: Promise<object | undefined> | undefined;

function probeTimeoutErrorPrototype(): Promise<object | undefined> {
  timeoutErrorPrototype ??= (async () => {
    const probe = new StateMachine(
      {
        StartAt: 'Probe',
        States: {
          Probe: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
            TimeoutSeconds: 0.001,
            End: true,
          },
        },
      },
      { validationOptions: { noValidate: true } },
    );
    const execution = probe.run(
      {},
      { overrides: { taskResourceLocalHandlers: { Probe: () => new Promise(() => {}) } } },
    );
    try {
      await execution.result;
    } catch (error) {
      if (
        error instanceof ExecutionError &&
        error.cause instanceof Error &&
        error.cause.name === 'States.Timeout'
      ) {
        return Object.getPrototypeOf(error.cause) as object;
      }
    }
    return undefined;
  })();
  return timeoutErrorPrototype;
}

function heartbeatTimeoutError(prototype: object | undefined, seconds: number): Error {
  const message = `Task did not send a heartbeat for ${seconds} s`;
  if (!prototype) return Object.assign(new Error(message), { name: 'States.HeartbeatTimeout' });
  const error = Object.create(prototype) as Error;
  Object.assign(error, { name: 'States.HeartbeatTimeout', message, retryable: true, catchable: true });
  return error;
}

/** Rethrows a handler's failure the way the `lambda:invoke` integration reports a Lambda function error. */
function lambdaFunctionError(error: unknown): Error {
  const errorType = error instanceof Error && error.name ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error && error.stack ? error.stack.split('\n').slice(1, 11) : [];
  const wrapped = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  wrapped.name = errorType;
  return wrapped;
}

type ProtocolBody = Record<string, unknown>;

export interface TaskBroker {
  /** The library's local handlers for one execution of `record`, by Task state name. */
  handlersFor(record: MachineRecord, execution: ExecutionRecord, context: RunContext): LocalHandlers;
  /** Ends the waiting tasks of an execution that stopped (their late callbacks answer TaskTimedOut). */
  endExecution(execution: ExecutionRecord): void;
  sendTaskSuccess(body: ProtocolBody): ProtocolBody;
  sendTaskFailure(body: ProtocolBody): ProtocolBody;
  sendTaskHeartbeat(body: ProtocolBody): ProtocolBody;
}

/** `lambdas`: function name or ARN → its in-process handler (see ../stepfunctions.ts). */
export async function createTaskBroker(lambdas: Record<string, LocalLambda>): Promise<TaskBroker> {
  const heartbeatPrototype = await probeTimeoutErrorPrototype();
  const pending = new Map<string, PendingTask>();
  const retired = new Map<string, string>(); // token -> why it ended (bounded)

  function findLambda(ref: unknown): LocalLambda {
    const name = str(ref);
    if (name !== undefined) {
      if (Object.hasOwn(lambdas, name)) {
        const direct = lambdas[name];
        if (direct) return direct;
      }
      const wanted = functionNameOf(name);
      for (const [key, handler] of Object.entries(lambdas)) {
        if (functionNameOf(key) === wanted) return handler;
      }
    }
    const error = new Error(`Function not found: ${String(ref)}`);
    error.name = 'Lambda.ResourceNotFoundException';
    throw error;
  }

  function retire(task: PendingTask, why: string): void {
    clearTimeout(task.timers.timeout);
    clearTimeout(task.timers.heartbeat);
    pending.delete(task.token);
    task.execution.tokens.delete(task.token);
    retired.set(task.token, why);
    if (retired.size > RETIRED_TOKENS_KEPT) {
      const oldest = retired.keys().next();
      if (!oldest.done) retired.delete(oldest.value);
    }
  }

  function stoppedError(execution: ExecutionRecord): UncatchableError {
    return new UncatchableError(
      'States.Runtime',
      `Execution ${execution.executionArn} is ${execution.status}`,
    );
  }

  function timeoutSeconds(info: TaskInfo, input: JSONValue, context: RunContext): number {
    if (info.timeoutSeconds) return info.timeoutSeconds;
    if (info.timeoutSecondsPath) {
      const value = num(readPath(info.timeoutSecondsPath, input, context));
      if (value) return value;
    }
    return DEFAULT_TASK_TIMEOUT_SECONDS;
  }

  function heartbeatSeconds(info: TaskInfo, input: JSONValue, context: RunContext): number | undefined {
    if (info.heartbeatSeconds) return info.heartbeatSeconds;
    if (info.heartbeatSecondsPath) return num(readPath(info.heartbeatSecondsPath, input, context));
    return undefined;
  }

  function armHeartbeat(task: PendingTask): void {
    if (task.heartbeatMs === undefined) return;
    clearTimeout(task.timers.heartbeat);
    const ms = task.heartbeatMs;
    task.timers.heartbeat = setTimeout(() => {
      retire(task, 'heartbeat timed out');
      task.reject(heartbeatTimeoutError(heartbeatPrototype, ms / 1000));
    }, ms);
  }

  function buildHandlers(
    record: MachineRecord,
    execution: ExecutionRecord,
    context: RunContext,
  ): LocalHandlers {
    const handlers: LocalHandlers = {};
    for (const info of record.tasks.values()) {
      const run = async (input: JSONValue): Promise<JSONValue> => {
        if (execution.status !== 'RUNNING') throw stoppedError(execution);
        if (info.kind === 'unsupported') {
          throw new UncatchableError(
            'States.Runtime',
            `Task resource ${info.resource} (state ${info.stateName}) is not supported by the local Step Functions endpoint`,
          );
        }
        if (info.kind === 'direct') {
          const handler = findLambda(info.resource);
          try {
            return toJson(await handler(toJson(input)));
          } catch (error) {
            throw lambdaFunctionError(error);
          }
        }
        const parameters = isRecord(input) ? input : {};
        const handler = findLambda(parameters.FunctionName);
        const payload = toJson(parameters.Payload);
        if (info.kind === 'invoke') {
          try {
            const result = await handler(payload);
            return { ExecutedVersion: '$LATEST', Payload: toJson(result), StatusCode: 200 };
          } catch (error) {
            throw lambdaFunctionError(error);
          }
        }
        // .waitForTaskToken
        const token = `${randomUUID()}.${randomBytes(24).toString('base64url')}`;
        const { promise, resolve, reject } = withResolvers<JSONValue>();
        promise.catch(() => {}); // may reject before the library attaches its handlers
        const task: PendingTask = {
          token,
          execution,
          stateName: info.stateName,
          resolve,
          reject,
          timers: {},
        };
        pending.set(token, task);
        execution.tokens.add(token);
        // Same length as the library's own timer, started just before it: the token is retired when
        // the library gives up with States.Timeout (it never tells the handler).
        task.timers.timeout = setTimeout(
          () => retire(task, 'task timed out'),
          timeoutSeconds(info, input, context) * 1000,
        );
        const heartbeat = heartbeatSeconds(info, input, context);
        if (heartbeat) {
          task.heartbeatMs = heartbeat * 1000;
          armHeartbeat(task);
        }
        try {
          await handler(replaceSentinel(payload, token));
        } catch (error) {
          retire(task, 'invocation failed');
          throw lambdaFunctionError(error);
        }
        return promise;
      };
      // The library may stop awaiting a task (its own timeout, a failed execution): mark the
      // returned promise handled so a later rejection cannot become an unhandled rejection.
      handlers[info.stateName] = (input: JSONValue): Promise<JSONValue> => {
        const result = run(input);
        result.catch(() => {});
        return result;
      };
    }
    return handlers;
  }

  function pendingTask(body: Record<string, unknown>): PendingTask {
    const token = str(body.taskToken);
    if (!token) throw new ServiceError('InvalidToken', 'Invalid Token: taskToken is required');
    const task = pending.get(token);
    if (task) return task;
    const why = retired.get(token);
    if (why)
      throw new ServiceError(
        'TaskTimedOut',
        `Task Timed Out: 'Provided task does not exist anymore' (${why})`,
      );
    throw new ServiceError('InvalidToken', "Invalid Token: 'Invalid token'");
  }

  function sendTaskSuccess(body: Record<string, unknown>): Record<string, unknown> {
    const outputText = str(body.output);
    if (outputText === undefined) throw new ServiceError('ValidationException', 'output is required');
    const task = pendingTask(body);
    const output = parseJsonParameter(
      outputText,
      'output',
      new ServiceError('InvalidOutput', 'Invalid Output: not valid JSON'),
    );
    retire(task, 'task succeeded');
    task.resolve(output);
    return {};
  }

  function sendTaskFailure(body: Record<string, unknown>): Record<string, unknown> {
    const task = pendingTask(body);
    retire(task, 'task failed');
    const error = new Error(str(body.cause) ?? '');
    error.name = str(body.error) ?? '';
    task.reject(error);
    return {};
  }

  function sendTaskHeartbeat(body: Record<string, unknown>): Record<string, unknown> {
    armHeartbeat(pendingTask(body));
    return {};
  }

  function endExecution(execution: ExecutionRecord): void {
    for (const token of [...execution.tokens]) {
      const task = pending.get(token);
      if (!task) continue;
      retire(task, `execution ${execution.status}`);
      task.reject(stoppedError(execution));
    }
  }

  return { handlersFor: buildHandlers, endExecution, sendTaskSuccess, sendTaskFailure, sendTaskHeartbeat };
}
