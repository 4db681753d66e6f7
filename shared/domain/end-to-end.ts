/**
 * The references an export writes into its file, and how a bank report's references lead back to
 * them. Pure functions.
 *
 * - EndToEndId: `po-<ULID>-<sequence in base 36>` — the payout id (its `_`, outside the SEPA character
 *   set, as `-`) and the export's sequence number, so a payout voided and exported again gets a new
 *   EndToEndId and a booking of the old file can never be taken for the new one. At most 35 characters
 *   (29 + 1 + up to 5: sequences up to 36^5 − 1 = 60,466,175), within the SEPA character set.
 * - MsgId: the export id the same way (`ex-<ULID>`); PmtInfId: `<MsgId>-1`.
 */
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const END_TO_END = new RegExp(`^po-(${ULID})-([0-9A-Z]{1,5})$`);
const MESSAGE_ID = new RegExp(`^ex-(${ULID})(?:-1)?$`);
export const MAX_EXPORT_SEQUENCE = 36 ** 5 - 1;

export function endToEndIdFor(payoutId: string, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1 || sequence > MAX_EXPORT_SEQUENCE) {
    throw new RangeError(`Export sequence ${sequence} does not fit an EndToEndId`);
  }
  return `${payoutId.replace('_', '-')}-${sequence.toString(36).toUpperCase()}`;
}

/** The payout and export sequence an EndToEndId names, or undefined when it is not one of ours. */
export function parseEndToEndId(endToEndId: string): { payoutId: string; sequence: number } | undefined {
  const match = END_TO_END.exec(endToEndId.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return { payoutId: `po_${match[1]}`, sequence: Number.parseInt(match[2], 36) };
}

/** The export a pain.001 MsgId (or its PmtInfId) names, or undefined. */
export function exportIdOfMessageId(messageId: string): string | undefined {
  const match = MESSAGE_ID.exec(messageId.trim());
  return match?.[1] ? `ex_${match[1]}` : undefined;
}
