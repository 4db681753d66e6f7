/**
 * EventBridge pattern matching of the local PutEvents endpoint, and one round trip through the real
 * EventBridgeClient to a rule's target (with a retried failure and a dead letter).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  type EventBridgeEvent,
  type EventPattern,
  matchesPattern,
  startLocalEventBridge,
} from '../../infra/local/eventbridge.ts';

const event: EventBridgeEvent = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'payout.validated',
  source: 'partner-payouts',
  account: '000000000000',
  time: '2026-11-23T10:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:dynamodb:us-east-1:000000000000:table/payouts', 'payout/p1'],
  detail: {
    payoutId: 'p1',
    status: 'pending',
    amount: 12_500,
    currency: 'EUR',
    partner: { id: 'partner-1', email: 'ada@example.com', tier: null },
    tags: ['vip', 'eu'],
    lines: [{ kind: 'commission' }, { kind: 'bonus' }],
  },
};

const cases: [string, EventPattern, boolean][] = [
  ['empty pattern matches everything', {}, true],
  ['exact source', { source: ['partner-payouts'] }, true],
  ['one of several values', { 'detail-type': ['payout.paid', 'payout.validated'] }, true],
  ['wrong value', { 'detail-type': ['payout.paid'] }, false],
  ['all fields must match', { source: ['partner-payouts'], 'detail-type': ['payout.paid'] }, false],
  ['nested detail value', { detail: { status: ['pending'] } }, true],
  ['deeper nesting', { detail: { partner: { id: ['partner-1'] } } }, true],
  ['deeper nesting, wrong value', { detail: { partner: { id: ['partner-2'] } } }, false],
  ['number', { detail: { amount: [12_500] } }, true],
  ['number is not a string', { detail: { amount: ['12500'] } }, false],
  ['null', { detail: { partner: { tier: [null] } } }, true],
  ['absent field does not match null', { detail: { partner: { nickname: [null] } } }, false],
  ['prefix', { 'detail-type': [{ prefix: 'payout.' }] }, true],
  ['prefix, no match', { 'detail-type': [{ prefix: 'reward.' }] }, false],
  ['suffix', { detail: { partner: { email: [{ suffix: '@example.com' }] } } }, true],
  ['equals-ignore-case', { detail: { currency: [{ 'equals-ignore-case': 'eur' }] } }, true],
  ['wildcard', { 'detail-type': [{ wildcard: 'payout.*ed' }] }, true],
  ['anything-but value', { detail: { status: [{ 'anything-but': 'draft' }] } }, true],
  ['anything-but the value', { detail: { status: [{ 'anything-but': 'pending' }] } }, false],
  ['anything-but list', { detail: { status: [{ 'anything-but': ['draft', 'pending'] }] } }, false],
  ['anything-but prefix', { 'detail-type': [{ 'anything-but': { prefix: 'reward.' } }] }, true],
  ['anything-but on an absent field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
  ['exists true', { detail: { payoutId: [{ exists: true }] } }, true],
  ['exists true, absent', { detail: { invoiceKey: [{ exists: true }] } }, false],
  ['exists false, absent', { detail: { invoiceKey: [{ exists: false }] } }, true],
  ['exists false, present', { detail: { payoutId: [{ exists: false }] } }, false],
  ['exists false under an absent object', { detail: { invoice: { key: [{ exists: false }] } } }, true],
  ['numeric range', { detail: { amount: [{ numeric: ['>', 0, '<=', 12_500] }] } }, true],
  ['numeric range, outside', { detail: { amount: [{ numeric: ['<', 100] }] } }, false],
  ['event array: any element', { detail: { tags: ['eu'] } }, true],
  ['event array: none', { detail: { tags: ['us'] } }, false],
  ['resources array', { resources: [{ prefix: 'payout/' }] }, true],
  ['array of objects: any element', { detail: { lines: { kind: ['bonus'] } } }, true],
  ['array of objects: none', { detail: { lines: { kind: ['clawback'] } } }, false],
  ['a matcher list is OR', { detail: { status: ['draft', { prefix: 'pend' }] } }, true],
  ['a value is not an object', { detail: { status: { nested: ['x'] } } }, false],
  ['an object is not a value', { detail: { partner: ['partner-1'] } }, false],
];

describe('matchesPattern', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
});

describe('local PutEvents endpoint', () => {
  it('delivers an event put through the real EventBridgeClient to the matching rules', async () => {
    const received: EventBridgeEvent[] = [];
    let flakyCalls = 0;
    const local = await startLocalEventBridge({
      retryBaseDelayMs: 5,
      maxAttempts: 3,
      log: () => {},
      rules: [
        {
          name: 'validated',
          pattern: { source: ['partner-payouts'], 'detail-type': ['payout.validated'] },
          target: async (e) => {
            received.push(e);
          },
        },
        {
          name: 'flaky',
          pattern: { detail: { payoutId: [{ exists: true }] } },
          target: async () => {
            flakyCalls++;
            if (flakyCalls < 2) throw new Error('transient');
          },
        },
        {
          name: 'always-failing',
          pattern: { 'detail-type': [{ prefix: 'payout.' }] },
          target: async () => {
            throw new Error('down');
          },
        },
        {
          name: 'paid-only',
          pattern: { 'detail-type': ['payout.paid'] },
          target: async (e) => void received.push(e),
        },
        {
          name: 'other-bus',
          eventBusName: 'integrations',
          pattern: {},
          target: async (e) => void received.push(e),
        },
      ],
    });
    const client = new EventBridgeClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    try {
      const time = new Date('2026-11-23T10:00:00.000Z');
      const answer = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'partner-payouts',
              DetailType: 'payout.validated',
              Detail: JSON.stringify({ payoutId: 'p1' }),
              Resources: ['payout/p1'],
              Time: time,
            },
            { Source: 'partner-payouts', DetailType: 'payout.validated', Detail: 'not json' },
          ],
        }),
      );
      expect(answer.FailedEntryCount).toBe(1);
      expect(answer.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.Entries?.[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });

      await local.idle();
      expect(received).toHaveLength(1);
      expect(received[0]).toEqual({
        version: '0',
        id: answer.Entries?.[0]?.EventId,
        'detail-type': 'payout.validated',
        source: 'partner-payouts',
        account: '000000000000',
        time: '2026-11-23T10:00:00Z',
        region: 'us-east-1',
        resources: ['payout/p1'],
        detail: { payoutId: 'p1' },
      });
      expect(local.published.map((e) => e.id)).toEqual([answer.Entries?.[0]?.EventId]);
      expect(flakyCalls).toBe(2); // failed once, retried
      expect(local.deadLetters.map((d) => [d.rule, d.attempts, d.error])).toEqual([
        ['always-failing', 3, 'Error: down'],
      ]);
    } finally {
      client.destroy();
      await local.close();
    }
  });
});
