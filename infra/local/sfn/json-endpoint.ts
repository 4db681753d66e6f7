/**
 * The JSON-protocol side of the local Step Functions endpoint: the Step Functions JSON 1.0 actions
 * (`X-Amz-Target: AWSStepFunctions.<Action>`) on in-memory executions, each run by the library with
 * the task broker's handlers. See ../stepfunctions.ts for the actions and what is emulated.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';
import { readRequestBody } from '../loopback.ts';
import { type MachineRecord, machineNameOf } from './definition.ts';
import {
  type ExecutionRecord,
  type ExecutionStatus,
  isRecord,
  num,
  parseJsonParameter,
  type RunContext,
  ServiceError,
  str,
  TASK_TOKEN_SENTINEL,
} from './shared.ts';
import type { TaskBroker } from './task-broker.ts';

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

/** What ListExecutions says of an execution, and DescribeExecution first. */
function summaryOf(e: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: epochSeconds(e.startDate),
    stopDate: e.stopDate ? epochSeconds(e.stopDate) : undefined,
  };
}

export interface JsonEndpoint {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  stateTransitions(executionArn: string): number | undefined;
  failAction(action: string, when: (body: Record<string, unknown>) => boolean): () => void;
  /** Aborts every running execution (the endpoint is closing). */
  abortAll(): void;
}

export function createJsonEndpoint(options: {
  machines: Map<string, MachineRecord>;
  broker: TaskBroker;
  waitTimeOverrides?: Record<string, number> | undefined;
  retryIntervalOverrides?: Record<string, number | number[]> | undefined;
  log: (message: string, extra?: unknown) => void;
}): JsonEndpoint {
  const { machines, broker, log } = options;
  const executions = new Map<string, ExecutionRecord>();

  function finish(
    execution: ExecutionRecord,
    status: ExecutionStatus,
    fields: Partial<ExecutionRecord>,
  ): void {
    if (execution.status !== 'RUNNING') return;
    Object.assign(execution, fields, { status, stopDate: new Date() });
    broker.endExecution(execution);
    log(`sfn: execution ${status}`, {
      executionArn: execution.executionArn,
      error: execution.error,
      cause: execution.cause,
    });
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
    const input = parseJsonParameter(
      inputText,
      'input',
      new ServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON'),
    );
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
        taskResourceLocalHandlers: broker.handlersFor(record, execution, context),
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
      ...summaryOf(e),
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
      executions: page.map(summaryOf),
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
    SendTaskSuccess: broker.sendTaskSuccess,
    SendTaskFailure: broker.sendTaskFailure,
    SendTaskHeartbeat: broker.sendTaskHeartbeat,
    DescribeStateMachine: describeStateMachine,
    ListStateMachines: listStateMachines,
  };

  const faults = new Set<{ action: string; when: (body: Record<string, unknown>) => boolean }>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readRequestBody(req);
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
        const text = raw.toString('utf8');
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

  return {
    handle,
    stateTransitions: (executionArn) => executions.get(executionArn)?.transitions,
    failAction(action, when) {
      const fault = { action, when };
      faults.add(fault);
      return () => faults.delete(fault);
    },
    abortAll() {
      for (const execution of executions.values()) {
        if (execution.status !== 'RUNNING') continue;
        execution.abort();
        finish(execution, 'ABORTED', {
          error: 'LocalStepFunctions.Closed',
          cause: 'The local endpoint was closed',
        });
      }
    },
  };
}
