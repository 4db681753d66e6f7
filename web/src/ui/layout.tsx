/** The page frame: skip link, banner with the navigation of the signed-in role, main, focus after navigation. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { Session } from '../session.ts';

const MANAGER_NAV = [
  ['/manage', 'Home'],
  ['/manage/payouts', 'Payouts'],
  ['/manage/exports', 'Exports'],
  ['/manage/bank-reports', 'Bank reports'],
  ['/manage/runs', 'Payout runs'],
  ['/manage/partners', 'Partners'],
] as const;

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
  const nav = session.role === 'manager' ? MANAGER_NAV : PARTNER_NAV;
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
          <span>{session.name}</span>
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
