/** Waiting in tests for what the system does in its own time (a workflow step, an e-mail, a delivery). */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first value `probe` gives that is neither `undefined` nor `false`, polled until `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
