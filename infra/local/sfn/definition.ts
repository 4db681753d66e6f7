/**
 * The definition preparation of the local Step Functions endpoint: parse a state machine's ASL, list
 * its Task states with what the task broker needs (kind, timeouts, heartbeats), add
 * `States.HeartbeatTimeout` next to `States.Timeout` where a state has a heartbeat (see
 * ../stepfunctions.ts), and build the library's `StateMachine`.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { isRecord, num, str } from './shared.ts';

export const INVOKE = 'arn:aws:states:::lambda:invoke';
export const INVOKE_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
export const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/;

export interface TaskInfo {
  stateName: string;
  kind: 'invoke' | 'callback' | 'direct' | 'unsupported';
  resource: string;
  timeoutSeconds?: number;
  timeoutSecondsPath?: string;
  heartbeatSeconds?: number;
  heartbeatSecondsPath?: string;
}

export interface MachineRecord {
  arn: string;
  name: string;
  definition: string;
  machine: StateMachine;
  tasks: Map<string, TaskInfo>;
  createdAt: Date;
}

export function functionNameOf(ref: string): string {
  const arn = LAMBDA_ARN.exec(ref);
  if (arn?.[1]) return arn[1];
  return ref.split(':')[0] ?? ref;
}

export function machineNameOf(arn: string): string {
  return arn.split(':').at(-1) ?? arn;
}

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

/** The state machine `arn` runs `text` (JSONPath ASL, placeholders already substituted). */
export function prepareMachine(arn: string, text: string): MachineRecord {
  const parsed: unknown = JSON.parse(text);
  if (!isRecord(parsed)) throw new Error(`State machine ${arn}: definition is not a JSON object`);
  const tasks = new Map<string, TaskInfo>();
  collectTasks(parsed.States, tasks);
  addHeartbeatErrorNames(parsed.States);
  const machine = new StateMachine(parsed as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  return { arn, name: machineNameOf(arn), definition: text, machine, tasks, createdAt: new Date() };
}
