/**
 * Where the console finds the API and how it signs users in, read at start from `/config.json`
 * (written by the local server, or deployed beside the console by CDK): the same build runs locally
 * and on AWS.
 */
export type AuthConfig =
  | { kind: 'local' }
  | {
      kind: 'cognito';
      issuer: string;
      domain: string;
      clientId: string;
      redirectUri: string;
      logoutUri: string;
    };

export interface ConsoleConfig {
  /** Base URL of the HTTP API ('' = this origin). */
  apiUrl: string;
  auth: AuthConfig;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  // The default cache mode, so the page's preload of it is used (it is served with no-cache).
  const response = await fetch('/config.json');
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  return (await response.json()) as ConsoleConfig;
}
