/**
 * The local token issuer: an ES256 key kept in $DATA_DIR, tokens shaped like the ones the API's JWT
 * authorizer accepts on AWS with an external issuer (`roles`, `role`, `partner_id`), verified with jose by the local server.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { ManagerRole } from '#shared/domain/roles.ts';

export const LOCAL_ISSUER = 'https://partner-payouts.local';
export const LOCAL_AUDIENCE = 'partner-payouts';
const KEY_FILE = 'jwt-signing-key.json';

interface StoredKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

async function loadOrCreateKey(dataDir: string): Promise<StoredKey> {
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StoredKey;
  mkdirSync(dataDir, { recursive: true });
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const stored = { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
  try {
    writeFileSync(file, JSON.stringify(stored), { flag: 'wx', mode: 0o600 });
    return stored;
  } catch {
    // Another process created it first: use theirs.
    return JSON.parse(readFileSync(file, 'utf8')) as StoredKey;
  }
}

export type TokenSubject =
  | { role: 'manager'; subject?: string; roles?: readonly ManagerRole[] }
  | { role: 'partner'; partnerId: string };

export async function issueToken(dataDir: string, who: TokenSubject, ttl = '12h'): Promise<string> {
  const key = await loadOrCreateKey(dataDir);
  const claims: JWTPayload =
    who.role === 'manager'
      ? { roles: [...(who.roles ?? ['admin'])] }
      : { role: 'partner', partner_id: who.partnerId };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject(who.role === 'manager' ? (who.subject ?? 'manager-local') : `partner:${who.partnerId}`)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(await importJWK(key.privateJwk, 'ES256'));
}

export type Verifier = (token: string) => Promise<JWTPayload | undefined>;

/** How many verified tokens the verifier remembers (most recent first out when full). */
const VERIFIED_TOKENS = 1_000;

/**
 * Verifies like API Gateway's JWT authorizer: signature, issuer, audience, expiry. A token that
 * verified is remembered until its expiry (a JWT cannot change, and the authorizer has no
 * revocation), so each request of a session does not check its ES256 signature again.
 */
export async function createVerifier(dataDir: string): Promise<Verifier> {
  const key = await importJWK((await loadOrCreateKey(dataDir)).publicJwk, 'ES256');
  const verified = new Map<string, JWTPayload>();
  return async (token) => {
    const known = verified.get(token);
    if (known) {
      if ((known.exp ?? 0) * 1000 > Date.now()) return known;
      verified.delete(token);
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(token, key, {
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        algorithms: ['ES256'],
        // API Gateway's JWT authorizer refuses a token without an expiry.
        requiredClaims: ['exp'],
      });
      if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value as string);
      verified.set(token, payload);
      return payload;
    } catch {
      return undefined;
    }
  };
}
