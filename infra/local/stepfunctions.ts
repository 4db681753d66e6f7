/**
 * A local AWS Step Functions endpoint: a loopback HTTP server speaking the Step Functions JSON 1.0
 * protocol (`X-Amz-Target: AWSStepFunctions.<Action>`), so an unmodified `SFNClient` pointed at it
 * (explicit `endpoint` or `AWS_ENDPOINT_URL_SFN`) runs the product's ASL in process with
 * `aws-local-stepfunctions`.
 *
 * Actions: StartExecution, DescribeExecution, ListExecutions, StopExecution, SendTaskSuccess,
 * SendTaskFailure, SendTaskHeartbeat (plus DescribeStateMachine and ListStateMachines). Executions
 * live in memory only.
 *
 * Task resources handled (every other resource fails the execution with an uncatchable error,
 * instead of letting the library call the real AWS Lambda):
 * - `arn:aws:states:::lambda:invoke`: the handler `lambdas[Parameters.FunctionName]` receives the
 *   resolved `Parameters.Payload`; the task result is `{ ExecutedVersion, Payload, StatusCode: 200 }`
 *   like the optimised integration on AWS.
 * - `arn:aws:states:::lambda:invoke.waitForTaskToken`: same call, with `$$.Task.Token` replaced by a
 *   fresh task token anywhere in the payload; the task then waits for SendTaskSuccess (its parsed
 *   `output` is the task result), SendTaskFailure, `TimeoutSeconds` (`States.Timeout`) or
 *   `HeartbeatSeconds` (`States.HeartbeatTimeout`, reset by SendTaskHeartbeat).
 * - `arn:aws:lambda:<region>:<account>:function:<name>` (direct Lambda resource): the handler gets
 *   the state input and its result is the task result.
 * `FunctionName` may be a name or an ARN (qualifiers are ignored) and may come from a `.$` path: the
 * handler is looked up at call time from the resolved parameters.
 *
 * How aws-local-stepfunctions 3.0.0 behaves (read from its source and checked by the tests):
 * - A local handler receives the state input after `InputPath` and `Parameters` (`.$` paths,
 *   intrinsic functions and `$$` context paths resolved against the `context` given to `run`);
 *   `ResultSelector`, `ResultPath` and `OutputPath` are applied to whatever it returns. It does not
 *   wrap a `lambda:invoke` result in `{ Payload }`: this module does.
 * - The ASL error name of a handler failure is the thrown error's `name`, verbatim: a plain
 *   `new Error()` is `Error`, a `class PayoutConflict extends Error { name = 'PayoutConflict' }` is
 *   `PayoutConflict`. There is no `Lambda.Unknown`/`Lambda.ServiceException` mapping. The Catch
 *   output is `{ Error: error.name, Cause: error.message }`. To look like the `lambda:invoke`
 *   integration on AWS, this module rethrows a handler's error with the same name and with a Cause
 *   that is the Lambda error document, `{"errorType","errorMessage","trace"}` as a JSON string.
 *   `States.ALL` matches everything; `States.TaskFailed` matches everything in a Task except
 *   `States.Timeout`; errors may set `isRetryable`/`isCatchable` to false (this module uses that to
 *   end stopped executions without running their Retry/Catch).
 * - `$$.Task.Token` does not exist: executions run with `context.Task.Token = TASK_TOKEN_SENTINEL`,
 *   so `"Token.$": "$$.Task.Token"` resolves to the sentinel that the broker replaces.
 *   `$$.Execution.Id/Name/Input/StartTime` and `$$.StateMachine.Id/Name` are provided;
 *   `$$.State.*` and `$$.Map.*` (except inside Map item selectors) are not.
 * - The Task timeout is `TimeoutSeconds` (or `TimeoutSecondsPath`), 60 s when unset (not AWS's
 *   1 year for callbacks: always set it). The library does not tell the handler when it gives up, so
 *   the broker runs a timer of the same length and retires the token; a late callback answers
 *   `TaskTimedOut`, like callbacks for finished tasks. Unknown tokens answer `InvalidToken`.
 * - On AWS a heartbeat timeout is matched by both `States.HeartbeatTimeout` and `States.Timeout`.
 *   The library compares one name, so the broker raises `States.HeartbeatTimeout` (an instance of
 *   the library's timeout error, so `States.TaskFailed` does not match it) and the definition run
 *   locally gets `States.HeartbeatTimeout` added next to every `States.Timeout` in the Retry/Catch
 *   of states that have a heartbeat.
 * - It needs `Promise.withResolvers` (Node 22+); a polyfill is installed below for Node 20.
 * - A Fail state without `Cause` reports the library's default cause text.
 * Not emulated: a Parallel branch that is cancelled because another branch failed keeps its
 * callback token until the task's own timeout; JSONata and `Assign` are ignored by the library.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';

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

// --- Public API ---------------------------------------------------------------------------------------

export type LocalLambda = (payload: unknown) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  /** state machine ARN -> ASL definition text (JSONPath only; already substituted) */
  stateMachines: Record<string, string>;
  /**
   * Lambda function name/ARN as written in the ASL `Parameters.FunctionName` of
   * `arn:aws:states:::lambda:invoke` (and `.waitForTaskToken`) tasks -> in-process handler receiving
   * the task's resolved `Parameters.Payload` and returning the Lambda's result.
   */
  lambdas: Record<string, LocalLambda>;
  /** for tests: Wait state name -> milliseconds (passed through to aws-local-stepfunctions) */
  waitTimeOverrides?: Record<string, number>;
  /** for tests: state name -> retry interval(s) in milliseconds (passed through) */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** default 0 (random); the host is always 127.0.0.1 */
  port?: number;
  log?: (message: string, extra?: unknown) => void;
}

export interface LocalStepFunctions {
  endpoint: string;
  /**
   * For fault-injection tests (no emulator can be told to fail): while the returned function has
   * not been called, every `action` request whose body `when` accepts answers 503
   * ServiceUnavailable, as an AWS outage would (the client's retries fail too).
   */
  failAction(action: string, when: (body: Record<string, unknown>) => boolean): () => void;
  /** States entered so far by an execution (what Standard workflows bill as state transitions). */
  stateTransitions(executionArn: string): number | undefined;
  close(): Promise<void>;
}

/** What `$$.Task.Token` resolves to inside the library; replaced by a real token in callback payloads. */
export const TASK_TOKEN_SENTINEL = '__LOCAL_SFN_TASK_TOKEN__';

// --- Types borrowed from the library --------------------------------------------------------------

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type LocalHandler = LocalHandlers[string];
type JSONValue = Parameters<LocalHandler>[0];
type RunContext = NonNullable<RunOptions['context']>;

type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

const INVOKE = 'arn:aws:states:::lambda:invoke';
const INVOKE_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/;
const DEFAULT_TASK_TIMEOUT_SECONDS = 60; // aws-local-stepfunctions' default
const MAX_PAYLOAD_CHARS = 262_144;
const RETIRED_TOKENS_KEPT = 10_000;

interface TaskInfo {
  stateName: string;
  kind: 'invoke' | 'callback' | 'direct' | 'unsupported';
  resource: string;
  timeoutSeconds?: number;
  timeoutSecondsPath?: string;
  heartbeatSeconds?: number;
  heartbeatSecondsPath?: string;
}

interface MachineRecord {
  arn: string;
  name: string;
  definition: string;
  machine: StateMachine;
  tasks: Map<string, TaskInfo>;
  createdAt: Date;
}

interface ExecutionRecord {
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

interface PendingTask {
  token: string;
  execution: ExecutionRecord;
  stateName: string;
  resolve: (value: JSONValue) => void;
  reject: (reason: unknown) => void;
  timers: { timeout?: NodeJS.Timeout; heartbeat?: NodeJS.Timeout };
  heartbeatMs?: number;
}

/** An error the library neither retries nor catches: used to end stopped executions at once. */
class UncatchableError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A Step Functions API error, answered as HTTP 400 with the JSON 1.0 `__type` the SDK maps to a class. */
class ServiceError extends Error {
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** JSON round trip: what crossing a process boundary does to a value (undefined -> null). */
function toJson(value: unknown): JSONValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JSONValue);
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

function functionNameOf(ref: string): string {
  const arn = LAMBDA_ARN.exec(ref);
  if (arn?.[1]) return arn[1];
  return ref.split(':')[0] ?? ref;
}

function machineNameOf(arn: string): string {
  return arn.split(':').at(-1) ?? arn;
}

function executionArnOf(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length >= 7 && parts[5] === 'stateMachine') {
    return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
  }
  return `arn:aws:states:us-east-1:000000000000:execution:${machineNameOf(stateMachineArn)}:${name}`;
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS forbids control characters in names
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

// --- Definition analysis ---------------------------------------------------------------------------

function collectTasks(states: unknown, into: Map<string, TaskInfo>): void {
  if (!isRecord(states)) return;
  for (const [stateName, state] of Object.entries(states)) {
    if (!isRecord(state)) continue;
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      for (const branch of state.Branches) if (isRecord(branch)) collectTasks(branch.States, into);
    }
    if (state.Type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (isRecord(processor)) collectTasks(processor.States, into);
    }
    if (state.Type !== 'Task') continue;
    const resource = str(state.Resource) ?? '';
    const kind: TaskInfo['kind'] =
      resource === INVOKE
        ? 'invoke'
        : resource === INVOKE_CALLBACK
          ? 'callback'
          : LAMBDA_ARN.test(resource)
            ? 'direct'
            : 'unsupported';
    const info: TaskInfo = {
      stateName,
      kind,
      resource,
      timeoutSeconds: num(state.TimeoutSeconds),
      timeoutSecondsPath: str(state.TimeoutSecondsPath),
      heartbeatSeconds: num(state.HeartbeatSeconds),
      heartbeatSecondsPath: str(state.HeartbeatSecondsPath),
    };
    const existing = into.get(stateName);
    if (existing && JSON.stringify(existing) !== JSON.stringify(info)) {
      throw new Error(`Task state name "${stateName}" is used twice with different settings`);
    }
    into.set(stateName, info);
  }
}

/** Adds `States.HeartbeatTimeout` wherever `States.Timeout` is matched on a state that has a heartbeat. */
function addHeartbeatErrorNames(states: unknown): void {
  if (!isRecord(states)) return;
  for (const state of Object.values(states)) {
    if (!isRecord(state)) continue;
    if (Array.isArray(state.Branches)) {
      for (const branch of state.Branches) if (isRecord(branch)) addHeartbeatErrorNames(branch.States);
    }
    const processor = state.ItemProcessor ?? state.Iterator;
    if (isRecord(processor)) addHeartbeatErrorNames(processor.States);
    if (state.HeartbeatSeconds === undefined && state.HeartbeatSecondsPath === undefined) continue;
    for (const list of [state.Retry, state.Catch]) {
      if (!Array.isArray(list)) continue;
      for (const rule of list) {
        if (!isRecord(rule) || !Array.isArray(rule.ErrorEquals)) continue;
        const names = rule.ErrorEquals;
        if (names.includes('States.Timeout') && !names.includes('States.HeartbeatTimeout')) {
          names.push('States.HeartbeatTimeout');
        }
      }
    }
  }
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

// --- The endpoint -------------------------------------------------------------------------------------

export async function startLocalStepFunctions(
  options: LocalStepFunctionsOptions,
): Promise<LocalStepFunctions> {
  const log = (message: string, extra?: unknown): void => {
    try {
      options.log?.(message, extra);
    } catch {
      // a broken logger must not break an execution
    }
  };
  const heartbeatPrototype = await probeTimeoutErrorPrototype();

  const machines = new Map<string, MachineRecord>();
  for (const [arn, text] of Object.entries(options.stateMachines)) {
    const parsed: unknown = JSON.parse(text);
    if (!isRecord(parsed)) throw new Error(`State machine ${arn}: definition is not a JSON object`);
    const tasks = new Map<string, TaskInfo>();
    collectTasks(parsed.States, tasks);
    addHeartbeatErrorNames(parsed.States);
    const machine = new StateMachine(parsed as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    machines.set(arn, {
      arn,
      name: machineNameOf(arn),
      definition: text,
      machine,
      tasks,
      createdAt: new Date(),
    });
  }

  const executions = new Map<string, ExecutionRecord>();
  const pending = new Map<string, PendingTask>();
  const retired = new Map<string, string>(); // token -> why it ended (bounded)

  function findLambda(ref: unknown): LocalLambda {
    const name = str(ref);
    if (name !== undefined) {
      if (Object.hasOwn(options.lambdas, name)) {
        const direct = options.lambdas[name];
        if (direct) return direct;
      }
      const wanted = functionNameOf(name);
      for (const [key, handler] of Object.entries(options.lambdas)) {
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

  function finish(
    execution: ExecutionRecord,
    status: ExecutionStatus,
    fields: Partial<ExecutionRecord>,
  ): void {
    if (execution.status !== 'RUNNING') return;
    Object.assign(execution, fields, { status, stopDate: new Date() });
    for (const token of [...execution.tokens]) {
      const task = pending.get(token);
      if (!task) continue;
      retire(task, `execution ${status}`);
      task.reject(stoppedError(execution));
    }
    log(`sfn: execution ${status}`, {
      executionArn: execution.executionArn,
      error: execution.error,
      cause: execution.cause,
    });
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

  async function drainEvents(
    execution: ExecutionRecord,
    events: AsyncGenerator<{ type: string }>,
  ): Promise<void> {
    try {
      for await (const event of events) {
        if (event.type === 'StateEntered') execution.transitions++;
        if (event.type === 'StateFailed' || event.type === 'StateRetried' || event.type === 'StateCaught') {
          log(`sfn: ${event.type}`, { executionArn: execution.executionArn, event });
        }
      }
    } catch (error) {
      log('sfn: event log failed', { executionArn: execution.executionArn, error });
    }
  }

  function startExecution(body: Record<string, unknown>): Record<string, unknown> {
    const stateMachineArn = str(body.stateMachineArn);
    if (!stateMachineArn) throw new ServiceError('ValidationException', 'stateMachineArn is required');
    const record = machines.get(stateMachineArn);
    if (!record)
      throw new ServiceError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    const name = str(body.name) ?? randomUUID();
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new ServiceError('InvalidName', `Invalid Name: '${name}'`);
    }
    const inputText = str(body.input) ?? '{}';
    if (inputText.length > MAX_PAYLOAD_CHARS) {
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_CHARS}`,
      );
    }
    let input: JSONValue;
    try {
      input = JSON.parse(inputText) as JSONValue;
    } catch {
      throw new ServiceError(
        'InvalidExecutionInput',
        'Invalid State Machine Execution Input: not valid JSON',
      );
    }
    const canonicalInput = JSON.stringify(input);
    const executionArn = executionArnOf(stateMachineArn, name);
    const existing = executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.canonicalInput === canonicalInput) {
        return { executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name,
      input: inputText,
      canonicalInput,
      status: 'RUNNING',
      startDate: new Date(),
      abort: () => {},
      tokens: new Set(),
      transitions: 0,
    };
    executions.set(executionArn, execution);
    const context: RunContext = {
      Execution: {
        Id: executionArn,
        Name: name,
        RoleArn: 'arn:aws:iam::000000000000:role/local-stepfunctions',
      },
      StateMachine: { Id: stateMachineArn, Name: record.name },
      Task: { Token: TASK_TOKEN_SENTINEL },
    };
    const run = record.machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: buildHandlers(record, execution, context),
        waitTimeOverrides: options.waitTimeOverrides,
        retryIntervalOverrides: options.retryIntervalOverrides,
      },
      context,
    });
    execution.abort = run.abort;
    void drainEvents(execution, run.eventLogs);
    run.result.then(
      (output) => finish(execution, 'SUCCEEDED', { output: JSON.stringify(output ?? null) }),
      (error: unknown) => {
        if (error instanceof ExecutionAbortedError) {
          finish(execution, 'ABORTED', {});
        } else if (error instanceof ExecutionTimeoutError) {
          finish(execution, 'TIMED_OUT', { error: 'States.Timeout', cause: 'Execution timed out' });
        } else if (error instanceof ExecutionError && error.cause instanceof Error) {
          finish(execution, 'FAILED', { error: error.cause.name || undefined, cause: error.cause.message });
        } else {
          finish(execution, 'FAILED', {
            error: 'States.Runtime',
            cause: error instanceof Error ? error.message : String(error),
          });
        }
      },
    );
    log('sfn: execution started', { executionArn });
    return { executionArn, startDate: epochSeconds(execution.startDate) };
  }

  function getExecution(body: Record<string, unknown>): ExecutionRecord {
    const arn = str(body.executionArn);
    const execution = arn ? executions.get(arn) : undefined;
    if (!execution)
      throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return execution;
  }

  function describeExecution(body: Record<string, unknown>): Record<string, unknown> {
    const e = getExecution(body);
    return {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: epochSeconds(e.startDate),
      stopDate: e.stopDate ? epochSeconds(e.stopDate) : undefined,
      input: e.input,
      inputDetails: { included: true },
      output: e.output,
      outputDetails: e.output === undefined ? undefined : { included: true },
      error: e.error,
      cause: e.cause,
    };
  }

  function listExecutions(body: Record<string, unknown>): Record<string, unknown> {
    const stateMachineArn = str(body.stateMachineArn);
    if (!stateMachineArn) throw new ServiceError('ValidationException', 'stateMachineArn is required');
    if (!machines.has(stateMachineArn)) {
      throw new ServiceError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    }
    const statusFilter = str(body.statusFilter);
    const all = [...executions.values()]
      .filter((e) => e.stateMachineArn === stateMachineArn && (!statusFilter || e.status === statusFilter))
      .reverse(); // newest first, like AWS
    const maxResults = Math.min(Math.max(num(body.maxResults) ?? 100, 1), 1000);
    const start = str(body.nextToken)
      ? Number(Buffer.from(str(body.nextToken) ?? '', 'base64url').toString())
      : 0;
    if (!Number.isInteger(start) || start < 0) throw new ServiceError('InvalidToken', 'Invalid nextToken');
    const page = all.slice(start, start + maxResults);
    return {
      executions: page.map((e) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: epochSeconds(e.startDate),
        stopDate: e.stopDate ? epochSeconds(e.stopDate) : undefined,
      })),
      nextToken:
        start + maxResults < all.length
          ? Buffer.from(String(start + maxResults)).toString('base64url')
          : undefined,
    };
  }

  function stopExecution(body: Record<string, unknown>): Record<string, unknown> {
    const e = getExecution(body);
    if (e.status === 'RUNNING') {
      e.abort();
      finish(e, 'ABORTED', { error: str(body.error), cause: str(body.cause) });
    }
    return { stopDate: epochSeconds(e.stopDate ?? new Date()) };
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
    if (outputText.length > MAX_PAYLOAD_CHARS) {
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_CHARS}`,
      );
    }
    let output: JSONValue;
    try {
      output = JSON.parse(outputText) as JSONValue;
    } catch {
      throw new ServiceError('InvalidOutput', 'Invalid Output: not valid JSON');
    }
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

  function describeStateMachine(body: Record<string, unknown>): Record<string, unknown> {
    const arn = str(body.stateMachineArn);
    const record = arn ? machines.get(arn) : undefined;
    if (!record)
      throw new ServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
    return {
      stateMachineArn: record.arn,
      name: record.name,
      status: 'ACTIVE',
      definition: record.definition,
      roleArn: 'arn:aws:iam::000000000000:role/local-stepfunctions',
      type: 'STANDARD',
      creationDate: epochSeconds(record.createdAt),
    };
  }

  function listStateMachines(): Record<string, unknown> {
    return {
      stateMachines: [...machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: epochSeconds(m.createdAt),
      })),
    };
  }

  const actions: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    StartExecution: startExecution,
    DescribeExecution: describeExecution,
    ListExecutions: listExecutions,
    StopExecution: stopExecution,
    SendTaskSuccess: sendTaskSuccess,
    SendTaskFailure: sendTaskFailure,
    SendTaskHeartbeat: sendTaskHeartbeat,
    DescribeStateMachine: describeStateMachine,
    ListStateMachines: listStateMachines,
  };

  const faults = new Set<{ action: string; when: (body: Record<string, unknown>) => boolean }>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = req.headers['x-amz-target'];
    const action =
      typeof target === 'string' && target.startsWith('AWSStepFunctions.') ? target.slice(17) : '';
    let status = 200;
    let payload: Record<string, unknown>;
    try {
      const operation = Object.hasOwn(actions, action) ? actions[action] : undefined;
      if (req.method !== 'POST' || !operation) {
        throw new ServiceError('UnknownOperationException', `Unknown operation ${String(target)}`);
      }
      let body: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new ServiceError('SerializationException', 'Request body is not valid JSON');
      }
      const request = isRecord(body) ? body : {};
      for (const fault of faults) {
        if (fault.action === action && fault.when(request)) {
          throw new ServiceError('ServiceUnavailable', `Injected fault: ${action} is unavailable`, 503);
        }
      }
      payload = operation(request);
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
      if (serviceError.status >= 500) log('sfn: internal error', { action, error });
      status = serviceError.status;
      payload = {
        __type: `com.amazonaws.swf.service.v2.model#${serviceError.code}`,
        message: serviceError.message,
      };
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log('sfn: request failed', { error });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  log('sfn: listening', { endpoint, stateMachines: [...machines.keys()] });

  return {
    endpoint,
    stateTransitions: (executionArn) => executions.get(executionArn)?.transitions,
    failAction(action, when) {
      const fault = { action, when };
      faults.add(fault);
      return () => faults.delete(fault);
    },
    async close(): Promise<void> {
      for (const execution of executions.values()) {
        if (execution.status !== 'RUNNING') continue;
        execution.abort();
        finish(execution, 'ABORTED', {
          error: 'LocalStepFunctions.Closed',
          cause: 'The local endpoint was closed',
        });
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
