/** The manager's view of one payout: the payout, its rewards (every page) and its history. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/preact-query';
import { all, api, ok, type PayoutEvent, type Reward } from '../../api/client.ts';

export function usePayout(id: string) {
  const payout = useQuery({
    queryKey: ['payout', id],
    queryFn: () => ok(api().GET('/payouts/{id}', { params: { path: { id } } })),
  });
  const rewards = useQuery({
    queryKey: ['payout', id, 'rewards'],
    queryFn: () =>
      all<Reward>((cursor) =>
        ok(
          api().GET('/payouts/{id}/rewards', {
            params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        ),
      ),
  });
  const events = useQuery({
    queryKey: ['payout', id, 'events'],
    queryFn: () =>
      all<PayoutEvent>((cursor) =>
        ok(
          api().GET('/payouts/{id}/events', {
            params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        ),
      ),
  });
  return { payout, rewards, events };
}

/** A mutation that refreshes everything the console shows once it succeeds (a small app: simply all). */
export function useAction<I, O>(run: (input: I) => Promise<O>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => queryClient.invalidateQueries(),
  });
}
