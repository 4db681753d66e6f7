import { afterEach, describe, expect, it, vi } from 'vitest';

describe('business metrics', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  async function published(counts: Record<string, number>): Promise<Record<string, unknown>[]> {
    // The local runtime (and test env) disables metrics; this test turns them on for a fresh module.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const { publishCounts } = await import('../../shared/adapters/metrics.ts');
    publishCounts(counts);
    vi.unstubAllEnvs();
    return lines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('_aws'))
      .map((line) => JSON.parse(line));
  }

  it('publishes one EMF document with the non-zero counts, in the PartnerPayouts namespace', async () => {
    const [document, ...rest] = await published({ payoutsPaid: 1, rewardsPaid: 7, payoutsDrafted: 0 });
    expect(rest).toEqual([]);
    expect(document).toMatchObject({ service: 'partner-payouts', PayoutsPaid: 1, RewardsPaid: 7 });
    expect(document).not.toHaveProperty('PayoutsDrafted');
    expect(document?._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'PartnerPayouts' }] });
  });

  it('publishes nothing when there is nothing to count', async () => {
    expect(await published({ payoutsDrafted: 0, rewardsClaimed: 0 })).toEqual([]);
  });
});
