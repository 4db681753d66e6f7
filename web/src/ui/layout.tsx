/** The page frame: skip link, banner with the navigation of the signed-in role, main, focus after navigation. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { can, type ManagerRoute, roleNames } from '../roles.ts';
import type { Session } from '../session.ts';

/** Each screen with the route it reads: a role that may not read it does not see it. */
const MANAGER_NAV: readonly (readonly [string, string, ManagerRoute])[] = [
  ['/manage', 'Home', 'GET /payouts/summary'],
  ['/manage/payouts', 'Payouts', 'GET /payouts'],
  ['/manage/approvals', 'Approvals', 'GET /payouts'],
  ['/manage/holds', 'Holds', 'GET /holds'],
  ['/manage/exports', 'Exports', 'GET /exports'],
  ['/manage/bank-reports', 'Bank reports', 'GET /bank-reports'],
  ['/manage/runs', 'Payout runs', 'GET /payout-runs/{id}'],
  ['/manage/partners', 'Partners', 'GET /partners'],
  ['/manage/webhooks', 'Webhooks', 'GET /webhook-endpoints'],
];

const PARTNER_NAV = [
  ['/portal', 'My payouts'],
  ['/portal/profile', 'Profile'],
] as const;

function isCurrent(path: string, href: string): boolean {
  return href === '/manage' || href === '/portal' ? path === href : path.startsWith(href);
}

export function Layout({
  session,
  onSignOut,
  children,
}: {
  session: Session;
  onSignOut: () => void;
  children: ComponentChildren;
}) {
  const { path } = useLocation();
  const first = useRef(true);
  // Focus the new screen's heading after a navigation (not on the first load), so a screen reader
  // announces it and the keyboard starts from there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.getElementById('page-title');
    (heading ?? document.querySelector('main'))?.focus();
  }, [path]);
  const nav =
    session.role === 'manager'
      ? MANAGER_NAV.filter(([, , route]) => can(route)).map(([href, text]) => [href, text] as const)
      : PARTNER_NAV;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="banner">
        <a class="brand" href={session.role === 'manager' ? '/manage' : '/portal'}>
          Partner payouts
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, text]) => (
              <li key={href}>
                <a href={href} aria-current={isCurrent(path, href) ? 'page' : undefined}>
                  {text}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.name}
            {session.role === 'manager' && <small class="roles"> · {roleNames(session.roles)}</small>}
          </span>
          <button type="button" class="secondary small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
