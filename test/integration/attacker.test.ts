/**
 * What an attacker tried (issue 13 §7), through the real Lambda handlers against dynalite, and the
 * local API Gateway's own checks: path ids that cannot exist, control characters in free text, a
 * token without `exp`, a malformed percent-escape.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../infra/local/api-gateway.ts';
import { createVerifier, issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../infra/local/tokens.ts';
import { expectOk, expectProblem } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';

async function newPartner(): Promise<string> {
  const response = await call(manager, 'POST', '/partners', {
    body: { name: 'Attacked Partner', email: `attack+${randomUUID()}@example.com` },
  });
  return expectOk(response, 201).id;
}

describe('path ids are checked against their pattern', () => {
  it('answers 404, never 500, for an id that cannot exist (3,000 characters, wrong prefix, junk)', async () => {
    const long = `po_${'A'.repeat(3000)}`;
    for (const path of [
      `/payouts/${long}`,
      `/payouts/${long}/events`,
      '/payouts/rw_01JF3Z0000000000000000000A',
      '/partners/not-an-id',
      `/rewards/${'x'.repeat(2000)}`,
      '/exports/ex_short',
      '/payout-runs/run_%00',
    ]) {
      const response = await call(manager, 'GET', path);
      expectProblem(response, 404, 'not_found');
      expect(response.body.detail.length).toBeLessThan(120);
    }
    const partnerId = await newPartner();
    const review = await call(
      partner(partnerId),
      'POST',
      `/partner/payouts/po_01JF3Z0000000000000000000A/rewards/${'r'.repeat(3000)}/review`,
      { body: { decision: 'approve' } },
    );
    expectProblem(review, 404, 'not_found');
    const cancel = await call(manager, 'POST', `/payouts/${long}/cancel`, { body: {} });
    expectProblem(cancel, 404, 'not_found');
  });
});

describe('control characters in free text', () => {
  it('refuses C0/C1 control characters in names and addresses with 400, storing nothing', async () => {
    for (const name of ['Eve\r\nBcc: x@example.com', 'Eve\u0000', 'Eve\u001b[31m', 'Eve\u0085', 'Eve\tTab']) {
      const response = await call(manager, 'POST', '/partners', {
        body: { name, email: `cc+${randomUUID()}@example.com` },
      });
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors.map((error: { path: string }) => error.path)).toContain('name');
    }
  });

  it('keeps line breaks in multi-line text as LF, and refuses other control characters there', async () => {
    const partnerId = await newPartner();
    expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount: 1000, currency: 'EUR', status: 'accepted' },
      }),
      201,
    );
    const payout = expectOk(
      await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
      201,
    );
    const refused = await call(manager, 'POST', `/payouts/${payout.id}/validate`, {
      body: { message: 'Hello\u0007 there' },
    });
    expectProblem(refused, 400, 'validation_failed');
    expectOk(
      await call(manager, 'POST', `/payouts/${payout.id}/validate`, {
        body: { message: 'Thanks!\r\nSee you next quarter.\rBye' },
      }),
    );
    const changes = await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/request-changes`, {
      body: { comment: 'Line one\r\nLine two' },
    });
    expectOk(changes);
    const events = expectOk(await call(manager, 'GET', `/payouts/${payout.id}/events`)).items;
    const validated = events.find((event: { type: string }) => event.type === 'payout.validated');
    expect(validated).toBeDefined();
    const requested = events.find((event: { type: string }) => event.type === 'payout.changes_requested');
    expect(requested.data.comment).toBe('Line one\nLine two');
    const read = expectOk(await call(manager, 'GET', `/payouts/${payout.id}`));
    expect(read.message).toBe('Thanks!\nSee you next quarter.\nBye');
  });
});

describe('the local API Gateway', () => {
  it('refuses a correctly signed token without exp', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tokens-'));
    const verify = await createVerifier(dataDir);
    expect(await verify(await issueToken(dataDir, { role: 'manager' }))).toMatchObject({
      sub: 'manager-local',
    });
    const { privateJwk } = JSON.parse(readFileSync(join(dataDir, 'jwt-signing-key.json'), 'utf8'));
    const key = await importJWK(privateJwk, 'ES256');
    const noExp = await new SignJWT({ role: 'manager' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setSubject('manager-1')
      .setIssuedAt()
      .sign(key);
    expect(await verify(noExp)).toBeUndefined();
  });

  it('answers 400 for a malformed percent-escape in a path', () => {
    expect(() => matchRoute('GET', '/payouts/%E0%A4%A')).toThrow(/malformed percent-encoding/);
    expect(() => matchRoute('GET', '/payouts/%')).toThrow(/malformed percent-encoding/);
    expect(matchRoute('GET', '/payouts/po_%41')?.params.id).toBe('po_A');
  });
});
