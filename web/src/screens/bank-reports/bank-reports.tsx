/**
 * Bank reports: upload a pain.002 / camt.054 / camt.053 file straight to S3 (presigned POST, with
 * progress), follow it until it is applied or rejected, then its counts and lines; past reports.
 */
import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../../api/client.ts';
import { label, money, when } from '../../format.ts';
import { can } from '../../roles.ts';
import { Empty, ErrorNote, Loading, Pager, Status, Title, usePager } from '../../ui/kit.tsx';
import { uploadFile } from '../portal/upload.ts';

type Report = Schemas['BankReport'];
const DONE = new Set(['applied', 'rejected']);

function Counts({ report }: { report: Report }) {
  const c = report.counts;
  return (
    <dl class="facts">
      {(
        [
          ['Lines', c.lines],
          ['Applied', c.applied],
          ['Already applied', c.alreadyApplied],
          ['In progress', c.inProgress],
          ['Unmatched', c.unmatched],
          ['Amount mismatch', c.mismatched],
          ['Voided export', c.voidedExport],
        ] as const
      ).map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Lines({ id }: { id: string }) {
  const lines = useQuery({
    queryKey: ['bank-report', id, 'lines'],
    queryFn: () =>
      ok(api().GET('/bank-reports/{id}/lines', { params: { path: { id }, query: { limit: 100 } } })),
  });
  if (lines.isPending) return <Loading what="Loading the lines" />;
  if (lines.error) return <ErrorNote error={lines.error} />;
  if (lines.data.items.length === 0) return <Empty>No payment lines in this report.</Empty>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Lines</caption>
        <thead>
          <tr>
            <th scope="col">Payout</th>
            <th scope="col">Outcome</th>
            <th scope="col" class="num">
              Amount
            </th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {lines.data.items.map((line) => (
            <tr key={`${line.endToEndId}-${line.result}`}>
              <td>
                {line.payoutId ? (
                  <a href={`/manage/payouts/${line.payoutId}`}>{line.payoutId}</a>
                ) : (
                  line.endToEndId
                )}
              </td>
              <td>
                {label(line.outcome)}
                {line.reasonCode ? ` (${line.reasonCode})` : ''}
                {line.reason && <div class="muted">{line.reason}</div>}
              </td>
              <td class="num">
                {line.amount !== undefined && line.currency ? money(line.amount, line.currency) : ''}
              </td>
              <td>
                <Status status={line.result} />
                {line.detail && <div class="muted">{line.detail}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ReportResult({ id }: { id: string }) {
  const report = useQuery({
    queryKey: ['bank-report', id],
    queryFn: () => ok(api().GET('/bank-reports/{id}', { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data && DONE.has(query.state.data.status) ? false : 700),
  });
  const queryClient = useQueryClient();
  const settled = report.data !== undefined && DONE.has(report.data.status);
  // Once applied, payouts have moved: what the console cached of them is stale.
  useEffect(() => {
    if (settled)
      void queryClient.invalidateQueries({ predicate: (query) => query.queryKey[0] !== 'bank-report' });
  }, [settled]);
  if (report.isPending) return <Loading what="Loading the report" />;
  if (report.error) return <ErrorNote error={report.error} />;
  const data = report.data;
  return (
    <article class="panel" aria-label={`Bank report ${data.fileName}`}>
      <h3>
        {data.fileName} · <Status status={data.status} />
      </h3>
      {!DONE.has(data.status) && <Loading what="Reading the report" />}
      {data.rejectionReason && (
        <p class="error" role="alert">
          The report was refused: {data.rejectionReason}
        </p>
      )}
      {data.exportRejection && (
        <p class="note">
          The bank refused the whole file {data.exportRejection.exportId ?? data.exportRejection.messageId}:{' '}
          {data.exportRejection.reason}.
        </p>
      )}
      {data.duplicateOf && <p class="note">Same file as {data.duplicateOf}: nothing was applied again.</p>}
      {data.message && (
        <p class="muted">
          {data.message} · {data.messageId}
        </p>
      )}
      {DONE.has(data.status) && (
        <>
          <Counts report={data} />
          <Lines id={data.id} />
        </>
      )}
    </article>
  );
}

function Upload({ onUploaded }: { onUploaded: (id: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<unknown>();
  return (
    <form
      class="panel stack"
      aria-labelledby="upload-report"
      onSubmit={async (event) => {
        event.preventDefault();
        const file = input.current?.files?.[0];
        if (!file) return setError(new Error('Choose the bank’s file first.'));
        setError(undefined);
        setProgress(0);
        try {
          const grant = await ok(api().POST('/bank-reports', { body: { fileName: file.name } }));
          await uploadFile(grant, file, setProgress);
          onUploaded(grant.id);
          if (input.current) input.current.value = '';
        } catch (caught) {
          setError(caught);
        } finally {
          setProgress(undefined);
        }
      }}
    >
      <h2 id="upload-report">Upload a bank report</h2>
      <div class="field">
        <label for="report-file">pain.002, camt.054 or camt.053 file (XML)</label>
        <input ref={input} id="report-file" type="file" accept=".xml,application/xml,text/xml" />
      </div>
      {progress !== undefined && (
        <div>
          <label for="report-progress">Uploading</label>{' '}
          <progress id="report-progress" max={1} value={progress}>
            {Math.round(progress * 100)}%
          </progress>
        </div>
      )}
      <ErrorNote error={error} />
      <button type="submit" disabled={progress !== undefined}>
        Upload report
      </button>
    </form>
  );
}

export function BankReportsScreen() {
  const [uploaded, setUploaded] = useState<string[]>([]);
  const pager = usePager();
  const reports = useQuery({
    queryKey: ['bank-reports', pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/bank-reports', {
          params: { query: pager.query },
        }),
      ),
  });
  return (
    <>
      <Title>Bank reports</Title>
      {can('POST /bank-reports') && (
        <Upload onUploaded={(id) => setUploaded((previous) => [id, ...previous])} />
      )}
      {uploaded.map((id) => (
        <ReportResult key={id} id={id} />
      ))}
      <section aria-labelledby="past-reports">
        <h2 id="past-reports">Past reports</h2>
        <ErrorNote error={reports.error} />
        {reports.isPending ? (
          <Loading what="Loading reports" />
        ) : reports.data?.items.length === 0 ? (
          <Empty>No bank reports yet.</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Past bank reports</caption>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Lines
                  </th>
                  <th scope="col" class="num">
                    Applied
                  </th>
                  <th scope="col">Received</th>
                </tr>
              </thead>
              <tbody>
                {reports.data?.items.map((report) => (
                  <tr key={report.id}>
                    <td>{report.fileName}</td>
                    <td>
                      <Status status={report.status} />
                    </td>
                    <td class="num">{report.counts.lines}</td>
                    <td class="num">{report.counts.applied}</td>
                    <td>{when(report.receivedAt ?? report.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pager={pager} nextCursor={reports.data?.nextCursor} />
      </section>
    </>
  );
}

/** One report (the e-mails about a report link here). */
export function BankReportDetail({ id }: { id: string }) {
  return (
    <>
      <Title>Bank report</Title>
      <ReportResult id={id} />
      <p>
        <a href="/manage/bank-reports">All bank reports</a>
      </p>
    </>
  );
}
