/**
 * The local Step Functions endpoint, driven only through the real SFNClient with a toy ASL (not the
 * product's workflow): Choice, lambda:invoke with ResultSelector/ResultPath, Retry/Catch on a failing
 * lambda, and `.waitForTaskToken` tasks with TimeoutSeconds and HeartbeatSeconds.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStepFunctions, startLocalStepFunctions } from '../../infra/local/stepfunctions.ts';

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:toy';
const OTHER_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:other';

const definition = {
  Comment: 'Toy workflow for the local endpoint tests',
  StartAt: 'Route',
  States: {
    Route: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.mode', StringEquals: 'flaky', Next: 'Flaky' },
        { Variable: '$.mode', StringEquals: 'crash', Next: 'Crash' },
        { Variable: '$.mode', StringEquals: 'heartbeat', Next: 'AwaitWithHeartbeat' },
      ],
      Default: 'Prepare',
    },
    Prepare: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: {
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:prepare',
        Payload: {
          'id.$': '$.id',
          'executionId.$': '$$.Execution.Id',
          'label.$': "States.Format('payout {}', $.id)",
        },
      },
      ResultSelector: { 'prepared.$': '$.Payload', 'status.$': '$.StatusCode' },
      ResultPath: '$.prep',
      TimeoutSeconds: 5,
      Next: 'AwaitDecision',
    },
    AwaitDecision: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: 'park',
        Payload: { 'id.$': '$.id', 'token.$': '$$.Task.Token', 'stage.$': '$.mode' },
      },
      TimeoutSeconds: 1,
      ResultPath: '$.decision',
      Catch: [
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'TimedOut' },
        { ErrorEquals: ['Rejected'], ResultPath: '$.failure', Next: 'WasRejected' },
      ],
      Next: 'Done',
    },
    AwaitWithHeartbeat: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: 'park', Payload: { 'id.$': '$.id', 'token.$': '$$.Task.Token' } },
      TimeoutSeconds: 5,
      HeartbeatSeconds: 1,
      ResultPath: '$.decision',
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'TimedOut' }],
      Next: 'Done',
    },
    Flaky: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'flaky', 'Payload.$': '$' },
      OutputPath: '$.Payload',
      TimeoutSeconds: 5,
      Retry: [{ ErrorEquals: ['FlakyError'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'GaveUp' }],
      Next: 'Done',
    },
    Crash: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'crash', 'Payload.$': '$' },
      TimeoutSeconds: 5,
      End: true,
    },
    TimedOut: { Type: 'Pass', Result: 'timed out', ResultPath: '$.outcome', End: true },
    WasRejected: { Type: 'Pass', Result: 'rejected', ResultPath: '$.outcome', End: true },
    GaveUp: { Type: 'Pass', Result: 'gave up', ResultPath: '$.outcome', End: true },
    Done: { Type: 'Succeed' },
  },
};

const otherDefinition = { StartAt: 'Only', States: { Only: { Type: 'Pass', End: true } } };

class FlakyError extends Error {
  override name = 'FlakyError';
}

const tokens = new Map<string, string>();
const prepared: unknown[] = [];
const flakyCalls = new Map<string, number>();

let local: LocalStepFunctions;
let sfn: SFNClient;

beforeAll(async () => {
  local = await startLocalStepFunctions({
    stateMachines: {
      [MACHINE]: JSON.stringify(definition),
      [OTHER_MACHINE]: JSON.stringify(otherDefinition),
    },
    lambdas: {
      prepare: async (payload) => {
        prepared.push(payload);
        return { ok: true, at: new Date(0) };
      },
      park: async (payload) => {
        const { id, token } = payload as { id: string; token: string };
        tokens.set(id, token);
      },
      flaky: async (payload) => {
        const { id, failures } = payload as { id: string; failures: number };
        const calls = (flakyCalls.get(id) ?? 0) + 1;
        flakyCalls.set(id, calls);
        if (calls <= failures) throw new FlakyError(`attempt ${calls} failed`);
        return { id, calls };
      },
      crash: async () => {
        throw new Error('boom');
      },
    },
    retryIntervalOverrides: { Flaky: 10 },
  });
  sfn = new SFNClient({
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  sfn?.destroy();
  await local?.close();
});

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 4000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const tokenFor = (id: string): Promise<string> => waitFor(() => tokens.get(id));

async function start(name: string, input: Record<string, unknown>): Promise<string> {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: MACHINE, name, input: JSON.stringify(input) }),
  );
  if (!executionArn) throw new Error('no executionArn');
  return executionArn;
}

async function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return waitFor(async () => {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return described.status === 'RUNNING' ? undefined : described;
  });
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  }
  return 'no error';
}

describe('local Step Functions endpoint', () => {
  it('refuses an invalid definition at start (the library runs asl-validator)', async () => {
    const broken = { StartAt: 'Nowhere', States: { Only: { Type: 'Pass', Next: 'Missing' } } };
    await expect(
      startLocalStepFunctions({ stateMachines: { [OTHER_MACHINE]: JSON.stringify(broken) }, lambdas: {} }),
    ).rejects.toThrow(/invalid/i);
  });

  it('runs lambda:invoke, parks a task token and resumes on SendTaskSuccess through ResultPath', async () => {
    const input = { id: 'p1', mode: 'draft' };
    const executionArn = await start('p1', input);
    expect(executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:toy:p1');

    const token = await tokenFor('p1');
    expect(token).not.toContain('__LOCAL_SFN_TASK_TOKEN__');
    expect(prepared).toContainEqual({ id: 'p1', executionId: executionArn, label: 'payout p1' });

    // Same name and input while RUNNING: the same execution, like AWS. Different input: an error.
    expect(await start('p1', input)).toBe(executionArn);
    expect(await errorName(start('p1', { id: 'p1', mode: 'pending' }))).toBe('ExecutionAlreadyExists');

    const running = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(running.status).toBe('RUNNING');
    expect(running.startDate).toBeInstanceOf(Date);
    expect(JSON.parse(running.input ?? '')).toEqual(input);

    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ decision: 'validate' }) }),
    );
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.stopDate).toBeInstanceOf(Date);
    expect(JSON.parse(done.output ?? '')).toEqual({
      id: 'p1',
      mode: 'draft',
      prep: { prepared: { ok: true, at: '1970-01-01T00:00:00.000Z' }, status: 200 },
      decision: { decision: 'validate' },
    });

    // A finished execution keeps its name; its token is spent.
    expect(await errorName(start('p1', input))).toBe('ExecutionAlreadyExists');
    expect(await errorName(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).toBe(
      'TaskTimedOut',
    );
  });

  it('routes SendTaskFailure to the Catch on its error name', async () => {
    const executionArn = await start('p2', { id: 'p2', mode: 'draft' });
    const token = await tokenFor('p2');
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'not this month' }),
    );
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toMatchObject({
      outcome: 'rejected',
      failure: { Error: 'Rejected', Cause: 'not this month' },
    });
  });

  it('times out a parked task (States.Timeout caught) and answers a late callback with TaskTimedOut', async () => {
    const executionArn = await start('p3', { id: 'p3', mode: 'draft' });
    const token = await tokenFor('p3');
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toMatchObject({
      outcome: 'timed out',
      timeout: { Error: 'States.Timeout' },
    });
    const late = sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: '{"decision":"validate"}' }),
    );
    expect(await errorName(late)).toBe('TaskTimedOut');
  });

  it('answers bogus tokens and unknown resources with the errors the SDK knows', async () => {
    expect(await errorName(sfn.send(new SendTaskSuccessCommand({ taskToken: 'bogus', output: '{}' })))).toBe(
      'InvalidToken',
    );
    expect(await errorName(sfn.send(new SendTaskHeartbeatCommand({ taskToken: 'bogus' })))).toBe(
      'InvalidToken',
    );
    expect(await errorName(sfn.send(new SendTaskFailureCommand({ taskToken: 'bogus' })))).toBe(
      'InvalidToken',
    );
    const missing = `${MACHINE.replace(':stateMachine:', ':execution:')}:nope`;
    expect(await errorName(sfn.send(new DescribeExecutionCommand({ executionArn: missing })))).toBe(
      'ExecutionDoesNotExist',
    );
    const unknownMachine = new StartExecutionCommand({ stateMachineArn: `${MACHINE}-missing`, input: '{}' });
    expect(await errorName(sfn.send(unknownMachine))).toBe('StateMachineDoesNotExist');
    expect(await errorName(start('bad name', {}))).toBe('InvalidName');
    const badInput = new StartExecutionCommand({ stateMachineArn: MACHINE, input: '{oops' });
    expect(await errorName(sfn.send(badInput))).toBe('InvalidExecutionInput');
  });

  it('keeps a task alive with SendTaskHeartbeat and raises States.HeartbeatTimeout without it', async () => {
    const kept = await start('hb-kept', { id: 'hb-kept', mode: 'heartbeat' });
    const lost = await start('hb-lost', { id: 'hb-lost', mode: 'heartbeat' });
    const token = await tokenFor('hb-kept');
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    // 1.6 s > HeartbeatSeconds: still waiting thanks to the heartbeats.
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: kept }))).status).toBe('RUNNING');
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"kept"' }));
    expect(JSON.parse((await finished(kept)).output ?? '')).toMatchObject({ decision: 'kept' });

    const lostDone = await finished(lost);
    expect(JSON.parse(lostDone.output ?? '')).toMatchObject({
      outcome: 'timed out',
      timeout: { Error: 'States.HeartbeatTimeout' },
    });
    const late = sfn.send(new SendTaskHeartbeatCommand({ taskToken: tokens.get('hb-lost') ?? '' }));
    expect(await errorName(late)).toBe('TaskTimedOut');
  });

  it('retries a failing lambda on its error name, then catches it with States.TaskFailed', async () => {
    const recovered = await start('flaky-ok', { id: 'flaky-ok', mode: 'flaky', failures: 2 });
    const recoveredDone = await finished(recovered);
    expect(recoveredDone.status).toBe('SUCCEEDED');
    expect(JSON.parse(recoveredDone.output ?? '')).toEqual({ id: 'flaky-ok', calls: 3 });

    const gaveUp = await start('flaky-ko', { id: 'flaky-ko', mode: 'flaky', failures: 10 });
    const gaveUpDone = await finished(gaveUp);
    expect(flakyCalls.get('flaky-ko')).toBe(3); // 1 + MaxAttempts
    const output = JSON.parse(gaveUpDone.output ?? '') as {
      outcome: string;
      error: { Error: string; Cause: string };
    };
    expect(output.outcome).toBe('gave up');
    expect(output.error.Error).toBe('FlakyError');
    // The Cause is the Lambda error document, as with lambda:invoke on AWS.
    expect(JSON.parse(output.error.Cause)).toMatchObject({
      errorType: 'FlakyError',
      errorMessage: 'attempt 3 failed',
    });
  });

  it('fails the execution with the error name of an uncaught lambda error', async () => {
    const executionArn = await start('crash', { id: 'crash', mode: 'crash' });
    const done = await finished(executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('Error');
    expect(JSON.parse(done.cause ?? '')).toMatchObject({ errorType: 'Error', errorMessage: 'boom' });
  });

  it('stops an execution (ABORTED) and retires its task token', async () => {
    const executionArn = await start('stopped', { id: 'stopped', mode: 'draft' });
    const token = await tokenFor('stopped');
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'payout cancelled' }));
    const stopped = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'payout cancelled' });
    expect(await errorName(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).toBe(
      'TaskTimedOut',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
  });

  it('lists executions by state machine and status, newest first, with pagination', async () => {
    const running = await start('listed', { id: 'listed', mode: 'draft' });
    await tokenFor('listed');
    const otherArn = (
      await sfn.send(
        new StartExecutionCommand({ stateMachineArn: OTHER_MACHINE, name: 'other-1', input: '{}' }),
      )
    ).executionArn;
    expect(otherArn).toBe('arn:aws:states:us-east-1:000000000000:execution:other:other-1');
    await finished(otherArn ?? '');

    const list = async (statusFilter?: 'RUNNING' | 'SUCCEEDED' | 'ABORTED' | 'FAILED') =>
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE, statusFilter }))).executions ??
      [];
    expect((await list('RUNNING')).map((e) => e.executionArn)).toEqual([running]);
    expect((await list('ABORTED')).map((e) => e.name)).toEqual(['stopped']);
    expect((await list('FAILED')).map((e) => e.name)).toEqual(['crash']);
    const all = await list();
    expect(all[0]?.name).toBe('listed');
    expect(all.map((e) => e.name)).not.toContain('other-1');
    expect(all.every((e) => e.stateMachineArn === MACHINE && e.startDate instanceof Date)).toBe(true);

    const firstPage = await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE, maxResults: 2 }));
    expect(firstPage.executions).toHaveLength(2);
    const secondPage = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: MACHINE,
        maxResults: 100,
        nextToken: firstPage.nextToken,
      }),
    );
    expect((secondPage.executions ?? []).length).toBe(all.length - 2);

    const other = await sfn.send(new ListExecutionsCommand({ stateMachineArn: OTHER_MACHINE }));
    expect(other.executions?.map((e) => [e.name, e.status])).toEqual([['other-1', 'SUCCEEDED']]);
    await sfn.send(new StopExecutionCommand({ executionArn: running }));
  });
});
