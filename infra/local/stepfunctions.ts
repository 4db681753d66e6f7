/**
 * A local AWS Step Functions endpoint: a loopback HTTP server speaking the Step Functions JSON 1.0
 * protocol (`X-Amz-Target: AWSStepFunctions.<Action>`), so an unmodified `SFNClient` pointed at it
 * (explicit `endpoint` or `AWS_ENDPOINT_URL_SFN`) runs the product's ASL in process with
 * `aws-local-stepfunctions`. Three parts, in ./sfn/: the definition preparation (definition.ts),
 * the task-token broker (task-broker.ts) and the JSON-protocol endpoint (json-endpoint.ts); this
 * module puts them together behind one loopback server.
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
 * - It needs `Promise.withResolvers` (Node 22+); ./sfn/task-broker.ts installs a polyfill for Node 20.
 * - A Fail state without `Cause` reports the library's default cause text.
 * Not emulated: a Parallel branch that is cancelled because another branch failed keeps its
 * callback token until the task's own timeout; JSONata and `Assign` are ignored by the library.
 */
import { listenLoopback } from './loopback.ts';
import { type MachineRecord, prepareMachine } from './sfn/definition.ts';
import { createJsonEndpoint } from './sfn/json-endpoint.ts';
import type { LocalLambda } from './sfn/shared.ts';
import { createTaskBroker } from './sfn/task-broker.ts';

export { type LocalLambda, TASK_TOKEN_SENTINEL } from './sfn/shared.ts';

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
  const machines = new Map<string, MachineRecord>();
  for (const [arn, text] of Object.entries(options.stateMachines))
    machines.set(arn, prepareMachine(arn, text));
  const broker = await createTaskBroker(options.lambdas);
  const protocol = createJsonEndpoint({
    machines,
    broker,
    waitTimeOverrides: options.waitTimeOverrides,
    retryIntervalOverrides: options.retryIntervalOverrides,
    log,
  });
  const loopback = await listenLoopback('the Step Functions stand-in', protocol.handle, {
    port: options.port,
    onError: (error) => log('sfn: request failed', { error }),
  });
  log('sfn: listening', { endpoint: loopback.endpoint, stateMachines: [...machines.keys()] });

  return {
    endpoint: loopback.endpoint,
    stateTransitions: protocol.stateTransitions,
    failAction: protocol.failAction,
    async close(): Promise<void> {
      protocol.abortAll();
      await loopback.close();
    },
  };
}
