/** Routes: /sign-in, /auth/callback; the manager's screens under /manage, the partner's under /portal. */
import { QueryClient, QueryClientProvider } from '@tanstack/preact-query';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { ApiProblem } from './api/client.ts';
import type { ConsoleConfig } from './config.ts';
import { ApprovalsScreen } from './screens/approvals/approvals.tsx';
import { BankReportDetail, BankReportsScreen } from './screens/bank-reports/bank-reports.tsx';
import { ExportsScreen } from './screens/exports/exports.tsx';
import { HoldsScreen } from './screens/holds/holds.tsx';
import { ManagerHome } from './screens/home/home.tsx';
import { PartnerEdit } from './screens/partners/partner-edit.tsx';
import { PartnerList } from './screens/partners/partner-list.tsx';
import { PayoutDetail } from './screens/payouts/payout-detail.tsx';
import { PayoutList } from './screens/payouts/payout-list.tsx';
import { PortalPayout } from './screens/portal/portal-payout.tsx';
import { PortalPayouts } from './screens/portal/portal-payouts.tsx';
import { Profile } from './screens/portal/profile.tsx';
import { RunsScreen } from './screens/runs/runs.tsx';
import { AuthCallback, SignIn, signOutEverywhere } from './screens/sign-in/sign-in.tsx';
import { WebhookDetail, WebhooksScreen } from './screens/webhooks/webhooks.tsx';
import { type Session, session, subscribe } from './session.ts';
import { Title } from './ui/kit.tsx';
import { Layout } from './ui/layout.tsx';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiProblem && error.status < 500) && count < 2,
    },
  },
});

function useSession(): Session | undefined {
  const [current, setCurrent] = useState(session.current);
  useEffect(() => subscribe(() => setCurrent(session.current)), []);
  return current;
}

function NotFound() {
  return (
    <>
      <Title>Page not found</Title>
      <p>
        There is nothing at this address. <a href="/">Go to the start page</a>.
      </p>
    </>
  );
}

function Redirect({ to }: { to: string }) {
  const { route } = useLocation();
  useEffect(() => route(to, true), [to]);
  return null;
}

function Screens({ config }: { config: ConsoleConfig }) {
  const current = useSession();
  const { path, url } = useLocation();
  if (path === '/auth/callback') return <AuthCallback config={config} />;
  if (!current) {
    if (path !== '/sign-in') {
      sessionStorage.setItem('partner-payouts.return', url);
      return <Redirect to="/sign-in" />;
    }
    return <SignIn config={config} />;
  }
  const home = current.role === 'manager' ? '/manage' : '/portal';
  if (path === '/' || path === '/sign-in') return <Redirect to={home} />;
  if (!path.startsWith(home)) return <Redirect to={home} />;
  return (
    <Layout
      session={current}
      onSignOut={() => {
        queryClient.clear();
        signOutEverywhere(config);
      }}
    >
      {current.role === 'manager' ? (
        <Router>
          <Route path="/manage" component={ManagerHome} />
          <Route path="/manage/payouts" component={PayoutList} />
          <Route path="/manage/payouts/:id" component={PayoutDetail} />
          <Route path="/manage/exports" component={ExportsScreen} />
          <Route path="/manage/bank-reports" component={BankReportsScreen} />
          <Route path="/manage/bank-reports/:id" component={BankReportDetail} />
          <Route path="/manage/runs" component={RunsScreen} />
          <Route path="/manage/partners" component={PartnerList} />
          <Route path="/manage/partners/:id" component={PartnerEdit} />
          <Route path="/manage/approvals" component={ApprovalsScreen} />
          <Route path="/manage/holds" component={HoldsScreen} />
          <Route path="/manage/webhooks" component={WebhooksScreen} />
          <Route path="/manage/webhooks/:id" component={WebhookDetail} />
          <Route default component={NotFound} />
        </Router>
      ) : (
        <Router>
          <Route path="/portal" component={PortalPayouts} />
          <Route path="/portal/payouts/:id" component={PortalPayout} />
          <Route path="/portal/profile" component={Profile} />
          <Route default component={NotFound} />
        </Router>
      )}
    </Layout>
  );
}

export function App({ config }: { config: ConsoleConfig }) {
  return (
    <QueryClientProvider client={queryClient}>
      <LocationProvider>
        <Screens config={config} />
      </LocationProvider>
    </QueryClientProvider>
  );
}
