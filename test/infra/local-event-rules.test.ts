/**
 * The local EventBridge matches only exact values (infra/local/eventbridge.ts `checkPattern`): this
 * holds it to the stack's own rules. Every `AWS::Events::Rule` of the synthesized stack has a pattern
 * the local matcher takes, `npm start` runs the same patterns, and each rule fires for the events it
 * names and for no other.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPattern, type EventPattern, matchesPattern } from '../../infra/local/eventbridge.ts';
import { LOCAL_RULE_PATTERNS } from '../../infra/local/runtime.ts';
import { EVENT_SOURCE } from '../../shared/adapters/events.ts';
import { NOTIFIED_EVENT_TYPES } from '../../shared/domain/notifications.ts';
import { type Json, synth } from '../support/cdk.ts';

const envelope = (source: string, detailType: string) => ({
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': detailType,
  source,
  account: '000000000000',
  time: '2026-11-23T10:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { id: 'po_1' },
});

describe("the local bus and the stack's rules", () => {
  let patterns: EventPattern[];

  beforeAll(() => {
    const { template } = synth();
    patterns = Object.values<Json>(template.findResources('AWS::Events::Rule'))
      .filter((rule) => rule.Properties.EventPattern !== undefined)
      .map((rule, index) => checkPattern(`rule ${index}`, rule.Properties.EventPattern));
  });

  it('takes every pattern of the stack, and runs the same ones locally', () => {
    expect(patterns.length).toBe(2);
    const sorted = (list: readonly EventPattern[]) => list.map((pattern) => JSON.stringify(pattern)).sort();
    expect(sorted(patterns)).toEqual(sorted(Object.values(LOCAL_RULE_PATTERNS)));
  });

  it('fires each rule for the events it names and for no other', () => {
    const other = envelope('someone-else', 'payout.paid');
    const notNotified = envelope(EVENT_SOURCE, 'reward.created');
    expect(NOTIFIED_EVENT_TYPES).not.toContain('reward.created');
    for (const pattern of patterns) {
      expect(matchesPattern(pattern, other), JSON.stringify(pattern)).toBe(false);
      for (const type of NOTIFIED_EVENT_TYPES) {
        expect(matchesPattern(pattern, envelope(EVENT_SOURCE, type)), `${type}`).toBe(true);
      }
      // Only the notifier's rule names detail types.
      const named = pattern['detail-type'] !== undefined;
      expect(matchesPattern(pattern, notNotified), JSON.stringify(pattern)).toBe(!named);
    }
  });
});
