/** Partners, page by page, with a link to add one. */
import { useQuery } from '@tanstack/preact-query';
import { api, ok } from '../../api/client.ts';
import { day } from '../../format.ts';
import { can } from '../../roles.ts';
import { Empty, ErrorNote, Loading, Pager, Title, usePager } from '../../ui/kit.tsx';

const METHOD: Record<string, string> = { sepa: 'SEPA', paypal: 'PayPal', wise: 'Wise' };

export function PartnerList() {
  const pager = usePager();
  const partners = useQuery({
    queryKey: ['partners', pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/partners', {
          params: { query: pager.query },
        }),
      ),
  });
  return (
    <>
      <Title>Partners</Title>
      {can('POST /partners') && (
        <p>
          <a class="button" href="/manage/partners/new">
            Add a partner
          </a>
        </p>
      )}
      <ErrorNote error={partners.error} />
      {partners.isPending ? (
        <Loading what="Loading partners" />
      ) : partners.data?.items.length === 0 ? (
        <Empty>No partners yet.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Partners</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Payout method</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {partners.data?.items.map((partner) => (
                <tr key={partner.id}>
                  <td>
                    <a href={`/manage/partners/${partner.id}`}>{partner.name}</a>
                  </td>
                  <td>{partner.email}</td>
                  <td>
                    {partner.payoutMethod ? (
                      METHOD[partner.payoutMethod.type]
                    ) : (
                      <span class="muted">not set</span>
                    )}
                  </td>
                  <td>{day(partner.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pager={pager} nextCursor={partners.data?.nextCursor} />
    </>
  );
}
