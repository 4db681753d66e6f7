/**
 * Sign-in with the Cognito hosted UI: authorization code with PKCE (oauth4webapi), no client secret,
 * no implicit flow. The console keeps the ID token: it carries `cognito:groups` and
 * `custom:partner_id`, which the API's JWT authorizer reads (an access token carries neither).
 */
import * as oauth from 'oauth4webapi';
import type { AuthConfig } from '../config.ts';

type Cognito = Extract<AuthConfig, { kind: 'cognito' }>;
const PENDING = 'partner-payouts.pkce';

function server(config: Cognito): oauth.AuthorizationServer {
  return {
    issuer: config.issuer,
    authorization_endpoint: `${config.domain}/oauth2/authorize`,
    token_endpoint: `${config.domain}/oauth2/token`,
    jwks_uri: `${config.issuer}/.well-known/jwks.json`,
  };
}

export async function startSignIn(config: Cognito): Promise<void> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const url = new URL(`${config.domain}/oauth2/authorize`);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', config.redirectUri);
  url.searchParams.set('scope', 'openid email profile');
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  location.assign(url.href);
}

/** Back from the hosted UI: exchanges the code (with the verifier) for the tokens; returns the ID token. */
export async function completeSignIn(config: Cognito): Promise<string> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    verifier: string;
    state: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  if (!pending) throw new Error('This sign-in was not started here. Please sign in again.');
  const as = server(config);
  const client: oauth.Client = { client_id: config.clientId };
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    config.redirectUri,
    pending.verifier,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response);
  if (!result.id_token) throw new Error('The sign-in answered no ID token.');
  return result.id_token;
}

export function logoutUrl(config: Cognito): string {
  const url = new URL(`${config.domain}/logout`);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('logout_uri', config.logoutUri);
  return url.href;
}
