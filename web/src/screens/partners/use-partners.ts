import { useQuery } from '@tanstack/preact-query';
import { all, api, ok, type Partner } from '../../api/client.ts';

/** Every partner (for pickers and names), cached. */
export function usePartners() {
  return useQuery({
    queryKey: ['partners', 'all'],
    queryFn: () =>
      all<Partner>((cursor) =>
        ok(api().GET('/partners', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } })),
      ),
    staleTime: 60_000,
  });
}

export function partnerName(partners: Partner[] | undefined, id: string): string {
  return partners?.find((partner) => partner.id === id)?.name ?? id;
}
