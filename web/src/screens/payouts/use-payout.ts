/**
 * The manager's view of one payout: the payout, its rewards and its history. The rewards come a page
 * of 100 at a time, each page rendered as it arrives while the next is fetched (a cursor names the
 * next page, so pages cannot be fetched at once; rendering overlaps the fetching instead); the
 * history is read after them.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/preact-query';
import { useEffect } from 'preact/hooks';
import { all, api, ok, type PayoutEvent, type Reward } from '../../api/client.ts';

type Page<T> = { items: T[]; nextCursor: string | null };

/** Pages asked for ahead, by cursor: the next page is requested as soon as a page arrives. */
const ahead = new Map<string, { page: Promise<Page<unknown>>; at: number }>();
/** A page asked for ahead is used only while fresh (a screen left mid-way leaves one behind). */
const AHEAD_MS = 5_000;

/**
 * Every page of a list, fetched one after another and shown as each arrives. The next page's request
 * leaves as soon as a page arrives, before that page is rendered, so rendering and fetching overlap.
 */
export function useProgressiveList<T>(
  queryKey: unknown[],
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
) {
  const scope = JSON.stringify(queryKey);
  const query = useInfiniteQuery({
    queryKey,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const key = `${scope} ${pageParam ?? ''}`;
      const pending = pageParam ? ahead.get(key) : undefined;
      ahead.delete(key);
      const fresh =
        pending && Date.now() - pending.at < AHEAD_MS ? (pending.page as Promise<Page<T>>) : undefined;
      const page = await (fresh ?? fetchPage(pageParam));
      if (page.nextCursor) {
        const next = fetchPage(page.nextCursor);
        // A page asked for ahead and never used is dropped quietly (its error, if any, comes again).
        next.catch(() => undefined);
        ahead.set(`${scope} ${page.nextCursor}`, { page: next, at: Date.now() });
      }
      return page;
    },
    getNextPageParam: (last: Page<T>) => last.nextCursor ?? undefined,
  });
  const { hasNextPage, isFetchingNextPage, isError, fetchNextPage } = query;
  // Keyed on the pages loaded too: a page asked for ahead can arrive between two renders, so that
  // `isFetchingNextPage` reads false in both and the list would stop (seen at 300 of 500 rewards).
  const pages = query.data?.pages.length ?? 0;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && !isError) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, isError, fetchNextPage, pages]);
  return {
    data: query.data?.pages.flatMap((page) => page.items),
    isPending: query.isPending,
    isComplete: query.isSuccess && !hasNextPage,
    error: query.error,
  };
}

export function usePayout(id: string, withHistory: boolean) {
  const payout = useQuery({
    queryKey: ['payout', id],
    queryFn: () => ok(api().GET('/payouts/{id}', { params: { path: { id } } })),
  });
  const events = useQuery({
    queryKey: ['payout', id, 'events'],
    enabled: withHistory,
    queryFn: () =>
      all<PayoutEvent>((cursor) =>
        ok(
          api().GET('/payouts/{id}/events', {
            params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        ),
      ),
  });
  return { payout, events };
}

export function usePayoutRewards(id: string) {
  return useProgressiveList<Reward>(['payout', id, 'rewards'], (cursor) =>
    ok(
      api().GET('/payouts/{id}/rewards', {
        params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    ),
  );
}

/** A mutation that refreshes everything the console shows once it succeeds (a small app: simply all). */
export function useAction<I, O>(run: (input: I) => Promise<O>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => queryClient.invalidateQueries(),
  });
}
