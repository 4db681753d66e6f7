/**
 * The integrators' side of `npm run bench:webhooks`, in its own process (forked by the bench, plain
 * Node, no TypeScript loader), so that its memory is not counted as ours: a loopback HTTP server with
 * one path per endpoint that verifies every delivery with the `standardwebhooks` package (each
 * endpoint its own secret, as a receiver would), answers 204 to a valid one and 400 to anything else,
 * and records each endpoint's `webhook-id`s to find duplicates. Latency is from the event's commit
 * (the body's `timestamp`, the event's `at`) to the 2xx being sent.
 *
 * IPC with the bench (`process.send`):
 *   → { ready, url }                         once listening
 *   ← { secrets: { [path]: "whsec_…" }, expected }
 *   → { done }                               when `expected` distinct deliveries have arrived
 *   ← { report: true }
 *   → { report: { received, duplicates, badSignatures, p50, p99, max, peakRssMb } }   then exits
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** Peak resident set of this process (VmHWM). */
function peakRssMb() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Math.round((Number(match[1]) / 1024) * 10) / 10;
  } catch {
    // not Linux
  }
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

const verifiers = new Map();
const seen = new Map(); // path → Set of webhook-ids
let received = 0;
let duplicates = 0;
let badSignatures = 0;
let expected = Number.POSITIVE_INFINITY;
let doneSent = false;
const latencies = [];

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '';
    const verifier = verifiers.get(path);
    let timestamp;
    try {
      if (!verifier) throw new Error('unknown endpoint');
      verifier.verify(body, req.headers);
      timestamp = Date.parse(JSON.parse(body).timestamp);
    } catch {
      badSignatures++;
      res.writeHead(400).end();
      return;
    }
    const ids = seen.get(path);
    const id = String(req.headers['webhook-id']);
    if (ids.has(id)) duplicates++;
    else {
      ids.add(id);
      received++;
    }
    res.writeHead(204).end();
    latencies.push(Date.now() - timestamp);
    if (!doneSent && received >= expected) {
      doneSent = true;
      process.send({ done: true });
    }
  });
});

process.on('message', (message) => {
  if (message.secrets) {
    for (const [path, secret] of Object.entries(message.secrets)) {
      verifiers.set(path, new Webhook(secret));
      seen.set(path, new Set());
    }
    expected = message.expected;
  }
  if (message.report) {
    server.close();
    server.closeAllConnections();
    latencies.sort((a, b) => a - b);
    const percentile = (p) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
    process.send(
      {
        report: {
          received,
          duplicates,
          badSignatures,
          p50: percentile(0.5),
          p99: percentile(0.99),
          max: percentile(1),
          peakRssMb: peakRssMb(),
        },
      },
      () => process.exit(0),
    );
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.send({ ready: true, url: `http://127.0.0.1:${server.address().port}` });
});
