/**
 * The local stand-in of API Gateway's JWT authorizer (infra/local/tokens.ts): it remembers a token
 * that verified, and must still refuse it once it expires, and never remember one that did not verify.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createVerifier, issueToken } from '../../infra/local/tokens.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'local-tokens-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

describe('the local JWT verifier', () => {
  it('accepts a token again from memory, and refuses it once it has expired', async () => {
    const verify = await createVerifier(dataDir);
    const token = await issueToken(dataDir, { role: 'partner', partnerId: 'pt_1' }, '1h');
    const first = await verify(token);
    expect(first?.sub).toBe('partner:pt_1');
    expect(await verify(token)).toEqual(first);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(((first?.exp ?? 0) + 1) * 1000);
    expect(await verify(token)).toBeUndefined();
  });

  it('refuses a token signed by another key, and a tampered one, every time', async () => {
    const verify = await createVerifier(dataDir);
    const other = mkdtempSync(join(tmpdir(), 'local-tokens-other-'));
    try {
      const foreign = await issueToken(other, { role: 'manager' });
      expect(await verify(foreign)).toBeUndefined();
      expect(await verify(foreign)).toBeUndefined();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const token = await issueToken(dataDir, { role: 'manager' });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${signature}`;
    expect(await verify(forged)).toBeUndefined();
    expect((await verify(token))?.sub).toBe('manager-local');
  });
});
