/**
 * Sign-in. Locally: a list of managers (one per role) and each partner, whose tokens the local server mints (the
 * same as `npm run token`; the route exists only on the local server). On AWS: the Cognito hosted UI.
 */
import { useQuery } from '@tanstack/preact-query';
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { ConsoleConfig } from '../../config.ts';
import { roleNames } from '../../roles.ts';
import { type ManagerRole, session, sessionFromToken, signIn, signOut } from '../../session.ts';
import { Empty, ErrorNote, Loading, Title } from '../../ui/kit.tsx';

interface Identity {
  role: 'manager' | 'partner';
  partnerId?: string;
  user?: string;
  roles?: ManagerRole[];
  name: string;
  email?: string;
}

const RETURN = 'partner-payouts.return';

function returnPath(role: string): string {
  const stored = sessionStorage.getItem(RETURN);
  sessionStorage.removeItem(RETURN);
  const home = role === 'manager' ? '/manage' : '/portal';
  return stored?.startsWith(home) ? stored : home;
}

async function localToken(identity: Identity): Promise<string> {
  const response = await fetch('/local/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role: identity.role, partnerId: identity.partnerId, user: identity.user }),
  });
  if (!response.ok) throw new Error(`The local sign-in answered ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

function LocalSignIn() {
  const { route } = useLocation();
  const [error, setError] = useState<unknown>();
  const identities = useQuery({
    queryKey: ['local-identities'],
    queryFn: async () => {
      const response = await fetch('/local/identities');
      if (!response.ok) throw new Error(`The local sign-in answered ${response.status}`);
      return ((await response.json()) as { items: Identity[] }).items;
    },
  });
  const choose = async (identity: Identity) => {
    try {
      const next = sessionFromToken(await localToken(identity), identity.name);
      if (!next) throw new Error('The token names no role.');
      signIn(next);
      route(returnPath(next.role), true);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section aria-labelledby="who">
      <h2 id="who">Sign in as</h2>
      <p class="hint">
        Local only: the server mints the same tokens as <code>npm run token</code>.
      </p>
      <ErrorNote error={error ?? identities.error} />
      {identities.isPending ? (
        <Loading what="Loading people" />
      ) : (
        <ul class="identities">
          {(identities.data ?? []).map((identity) => (
            <li key={identity.partnerId ?? identity.user}>
              <button type="button" class="identity" onClick={() => choose(identity)}>
                <strong>{identity.name}</strong>
                <span>
                  {identity.role === 'manager'
                    ? `Manager · ${roleNames(identity.roles ?? [])}`
                    : `Partner · ${identity.email ?? ''}`}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {identities.data?.every((identity) => identity.role === 'manager') && (
        <Empty>No partners yet: sign in as the manager to add some.</Empty>
      )}
    </section>
  );
}

export function SignIn({ config }: { config: ConsoleConfig }) {
  const [error, setError] = useState<unknown>();
  return (
    <main id="main" class="sign-in" tabIndex={-1}>
      <Title>Partner payouts</Title>
      {session.notice && <p role="status">{session.notice}</p>}
      {config.auth.kind === 'local' ? (
        <LocalSignIn />
      ) : (
        <>
          <ErrorNote error={error} />
          <button
            type="button"
            onClick={() =>
              import('../../auth/cognito.ts')
                .then(({ startSignIn }) =>
                  config.auth.kind === 'cognito' ? startSignIn(config.auth) : undefined,
                )
                .catch(setError)
            }
          >
            Sign in
          </button>
        </>
      )}
    </main>
  );
}

export function AuthCallback({ config }: { config: ConsoleConfig }) {
  const { route } = useLocation();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (config.auth.kind !== 'cognito') return route('/sign-in', true);
    const auth = config.auth;
    import('../../auth/cognito.ts')
      .then(({ completeSignIn }) => completeSignIn(auth))
      .then((token) => {
        const next = sessionFromToken(token);
        if (!next)
          throw new Error('Your account is neither a manager nor a partner. Ask a manager for access.');
        signIn(next);
        route(returnPath(next.role), true);
      })
      .catch(setError);
  }, []);
  return (
    <main id="main" class="sign-in" tabIndex={-1}>
      <Title>Signing in</Title>
      {error ? (
        <>
          <ErrorNote error={error} />
          <a href="/sign-in">Try again</a>
        </>
      ) : (
        <Loading what="Signing in" />
      )}
    </main>
  );
}

export function signOutEverywhere(config: ConsoleConfig): void {
  signOut();
  if (config.auth.kind === 'cognito') {
    const auth = config.auth;
    void import('../../auth/cognito.ts').then(({ logoutUrl }) => location.assign(logoutUrl(auth)));
  }
}
