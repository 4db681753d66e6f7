/**
 * EventBridge pattern matching of the local PutEvents endpoint (exact values only, what the stack's
 * rules use: test/infra/local-event-rules.test.ts holds it to them), and one round trip through the
 * real EventBridgeClient to a rule's target (with a retried failure and a dead letter).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  checkPattern,
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
  ['both fields match', { source: ['partner-payouts'], 'detail-type': ['payout.validated'] }, true],
  ['compared strictly', { version: [0] }, false],
  ['an absent field does not match, not even null', { 'replay-name': [null] }, false],
  ['values are case-sensitive', { source: ['Partner-Payouts'] }, false],
];

describe('matchesPattern', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
});

describe('checkPattern', () => {
  it('takes exact values of top-level fields', () => {
    const pattern = { source: ['partner-payouts'], 'detail-type': ['payout.paid', 'payout.failed'] };
    expect(checkPattern('ok', pattern)).toBe(pattern);
  });

  it.each<[string, unknown]>([
    ['a nested object', { detail: { status: ['pending'] } }],
    ['prefix', { 'detail-type': [{ prefix: 'payout.' }] }],
    ['anything-but', { source: [{ 'anything-but': 'x' }] }],
    ['exists', { source: [{ exists: true }] }],
    ['an empty list', { source: [] }],
    ['not an object', ['partner-payouts']],
  ])('refuses %s, which the stack does not use', (_name, pattern) => {
    expect(() => checkPattern('rule', pattern)).toThrow(/rule/i);
  });

  it('is applied to every rule when the endpoint starts', async () => {
    await expect(
      startLocalEventBridge({
        rules: [
          { name: 'prefixed', pattern: { source: [{ prefix: 'p' }] } as never, target: async () => {} },
        ],
      }),
    ).rejects.toThrow(/prefixed/);
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
          pattern: { source: ['partner-payouts'] },
          target: async () => {
            flakyCalls++;
            if (flakyCalls < 2) throw new Error('transient');
          },
        },
        {
          name: 'always-failing',
          pattern: { 'detail-type': ['payout.validated', 'payout.paid'] },
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
