/** The pure webhook rules: addresses refused, URL checks, retry schedule and jitter, Retry-After, filters, events. */
import { describe, expect, it } from 'vitest';
import { batchResolver, UnsafeWebhookUrl } from '../../shared/adapters/webhook-http.ts';
import {
  checkWebhookUrl,
  DEFAULT_RETRY_SCHEDULE,
  isPublicAddress,
  nextDelayMs,
  parseRetrySchedule,
  retryAfterMs,
  retryDelayMs,
  subscribes,
  toWebhookEvent,
  webhookBody,
} from '../../shared/domain/webhooks.ts';

describe('addresses', () => {
  it.each([
    ['0.0.0.0', false],
    ['0.1.2.3', false],
    ['10.0.0.1', false],
    ['10.255.255.255', false],
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['127.0.0.1', false],
    ['127.255.0.1', false],
    ['169.254.169.254', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.0.1', false],
    ['192.0.0.1', false],
    ['198.18.0.1', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::', false],
    ['::1', false],
    ['fc00::1', false],
    ['fd00:ec2::254', false],
    ['fe80::1', false],
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:a9fe:a9fe', false],
    ['::ffff:10.0.0.1', false],
    ['64:ff9b::10.0.0.1', false],
    ['64:ff9b::a00:1', false],
    ['2002:7f00:1::', false],
    ['2001:db8::1', false],
    ['::127.0.0.1', false],
    ['not an address', false],
    ['8.8.8.8', true],
    ['172.32.0.1', true],
    ['172.15.255.255', true],
    ['100.128.0.1', true],
    ['93.184.216.34', true],
    ['::ffff:93.184.216.34', true],
    ['64:ff9b::808:808', true],
    ['2606:4700:4700::1111', true],
    ['2a00:1450:4001:80b::200e', true],
  ])('%s public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('checks URLs before any lookup', () => {
    expect(checkWebhookUrl('https://example.com/hooks', false)).toMatchObject({ ok: true });
    expect(checkWebhookUrl('http://example.com/hooks', false)).toMatchObject({
      reason: 'scheme_not_allowed',
    });
    expect(checkWebhookUrl('http://127.0.0.1:3000/hooks', true)).toMatchObject({ ok: true });
    expect(checkWebhookUrl('ftp://example.com/', true)).toMatchObject({ reason: 'scheme_not_allowed' });
    expect(checkWebhookUrl('https://10.0.0.1/', false)).toMatchObject({ reason: 'private_address' });
    expect(checkWebhookUrl('https://[::1]/', false)).toMatchObject({ reason: 'private_address' });
    expect(checkWebhookUrl('https://2130706433/', false)).toMatchObject({ reason: 'private_address' }); // 127.0.0.1 as a number
    expect(checkWebhookUrl('https://0x7f.1/', false)).toMatchObject({ reason: 'private_address' });
    expect(checkWebhookUrl('https://a:b@example.com/', false)).toMatchObject({
      reason: 'credentials_in_url',
    });
    expect(checkWebhookUrl('nope', false)).toMatchObject({ reason: 'invalid_url' });
  });
});

describe('retries', () => {
  it('parses the default and test schedules', () => {
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
    ]);
    // About three days in all.
    const total = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE).reduce((a, b) => a + b, 0);
    expect(total / 86_400_000).toBeGreaterThan(3);
    expect(total / 86_400_000).toBeLessThan(3.5);
    expect(parseRetrySchedule('50ms, 1s,1.5m')).toEqual([50, 1000, 90_000]);
    expect(() => parseRetrySchedule('5x')).toThrow(/5x/);
    expect(() => parseRetrySchedule('')).toThrow();
  });

  it('jitters each wait by ±10 % and stops after the last', () => {
    const schedule = [1000, 2000];
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(900);
    expect(retryDelayMs(schedule, 1, () => 1)).toBe(1100);
    expect(retryDelayMs(schedule, 2, () => 0.5)).toBe(2000);
    expect(retryDelayMs(schedule, 3, () => 0.5)).toBeUndefined();
  });

  it('honours Retry-After (seconds or a date), capped at a day, never shorter than the schedule', () => {
    const now = Date.parse('2026-11-30T00:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Mon, 30 Nov 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('999999999', now)).toBe(86_400_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(nextDelayMs(5_000, 120_000)).toBe(120_000);
    expect(nextDelayMs(300_000, 1_000)).toBe(300_000);
    expect(nextDelayMs(5_000, undefined)).toBe(5_000);
  });
});

describe('events', () => {
  it('subscribes by type, family or everything', () => {
    expect(subscribes(null, 'payout.paid')).toBe(true);
    expect(subscribes([], 'payout.paid')).toBe(true);
    expect(subscribes(['payout.paid'], 'payout.paid')).toBe(true);
    expect(subscribes(['payout.paid'], 'payout.validated')).toBe(false);
    expect(subscribes(['payout.*'], 'payout.validated')).toBe(true);
    expect(subscribes(['payout.*'], 'payouts.x')).toBe(false);
    expect(subscribes(['payout.*'], 'reward.created')).toBe(false);
    expect(subscribes(['*'], 'bank_report.applied')).toBe(true);
  });

  it('takes the domain id and time, not the bus envelope’s, and the resource as data', () => {
    const payoutEvent = toWebhookEvent({
      id: 'bus-1',
      'detail-type': 'payout.paid',
      time: '2026-11-30T00:00:01Z',
      resources: ['evt_A'],
      detail: { id: 'po_1', version: 4, event: { id: 'evt_A', at: '2026-11-30T00:00:00.123Z' } },
    });
    expect(payoutEvent).toEqual({
      id: 'evt_A',
      type: 'payout.paid',
      timestamp: '2026-11-30T00:00:00.123Z',
      data: { id: 'po_1', version: 4 },
    });
    const other = toWebhookEvent({
      id: 'bus-2',
      'detail-type': 'reward.created',
      time: '2026-11-30T00:00:01Z',
      detail: { id: 'rw_1', version: 1, eventId: 'evt_B', eventAt: '2026-11-30T00:00:00.500Z' },
    });
    expect(other).toMatchObject({
      id: 'evt_B',
      timestamp: '2026-11-30T00:00:00.500Z',
      data: { id: 'rw_1', version: 1 },
    });
    expect(toWebhookEvent({ id: 'bus-3', 'detail-type': 'x.y', time: 't', detail: {} }).id).toBe('bus-3');
    expect(JSON.parse(webhookBody(payoutEvent))).toEqual({
      type: 'payout.paid',
      timestamp: '2026-11-30T00:00:00.123Z',
      data: { id: 'po_1', version: 4 },
    });
  });
});

describe('one resolution per host and batch', () => {
  it('answers the same check for a host within a batch, a fresh one in the next batch', async () => {
    const batch = batchResolver(false);
    const first = batch('localhost');
    expect(batch('localhost')).toBe(first);
    expect(batch('127.0.0.1')).not.toBe(first);
    await expect(first).rejects.toBeInstanceOf(UnsafeWebhookUrl);
    await expect(batch('127.0.0.1')).rejects.toThrow(/not a public address/);
    const next = batchResolver(true);
    expect(next('localhost')).not.toBe(first);
    expect((await next('127.0.0.1')).address).toBe('127.0.0.1');
  });
});
