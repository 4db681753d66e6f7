/** The issued self-billed invoice of a payout, for the manager and the partner alike. */
import { useState } from 'preact/hooks';
import type { Payout, Schemas } from '../../api/client.ts';
import { ErrorNote, Time } from '../../ui/kit.tsx';

/** The issued self-billed invoice (and its credit note, once cancelled): PDF and UBL XML. */
export function SelfBilledDocuments({
  payout,
  fetchLinks,
}: {
  payout: Payout;
  fetchLinks: () => Promise<Schemas['SelfBilledInvoiceDownload']>;
}) {
  const [links, setLinks] = useState<Schemas['SelfBilledInvoiceDownload']>();
  const [error, setError] = useState<unknown>();
  const record = payout.selfBilledInvoice;
  if (!record) {
    return (
      <p class="muted">
        {payout.status === 'pending'
          ? 'A self-billed invoice is issued when the partner validates.'
          : 'The self-billed invoice is being issued.'}
      </p>
    );
  }
  return (
    <>
      <p>
        Self-billed invoice <strong>{record.number}</strong>, issued <Time at={record.issuedAt} />
        {payout.selfBilledCreditNote && (
          <>
            ; credit note <strong>{payout.selfBilledCreditNote.number}</strong>, issued{' '}
            <Time at={payout.selfBilledCreditNote.issuedAt} />
          </>
        )}
        .
      </p>
      {links ? (
        <ul class="downloads">
          <li>
            <a href={links.pdf.url}>Invoice {links.number} (PDF)</a>
          </li>
          <li>
            <a href={links.xml.url}>Invoice {links.number} (UBL XML)</a>
          </li>
          {links.creditNote && (
            <>
              <li>
                <a href={links.creditNote.pdf.url}>Credit note {links.creditNote.number} (PDF)</a>
              </li>
              <li>
                <a href={links.creditNote.xml.url}>Credit note {links.creditNote.number} (UBL XML)</a>
              </li>
            </>
          )}
        </ul>
      ) : (
        <button type="button" class="secondary" onClick={() => fetchLinks().then(setLinks, setError)}>
          Get the download links
        </button>
      )}
      <ErrorNote error={error} />
    </>
  );
}
