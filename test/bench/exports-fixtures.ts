/**
 * The data of `npm run bench:exports`, shared by its parent (./exports.ts, which seeds and verifies)
 * and its child (./exports-child.ts, the bundled export): formats, partner details per format, and
 * the export's own concurrency the floor runs at.
 */
import type { Address, ExportFormat, PayoutMethod } from '../../shared/domain/schemas.ts';

export const FORMATS: readonly ExportFormat[] = ['csv', 'paypal', 'wise', 'sepa'];
/** The export's own concurrency (shared/usecases/exports.ts, shared/adapters/table.ts). */
export const TAKE_CONCURRENCY = 16;
export const BATCH_CONCURRENCY = 8;

const IBANS = [
  'DE89370400440532013000',
  'FR7630006000011234567890189',
  'NL91ABNA0417164300',
  'BE68539007547034',
];
export const NAMES = [
  'Müller & Söhne GmbH',
  'Société Générale & Fils',
  'Zoë Łukasiewicz',
  'Acme Ltd',
  'Ærø & Co',
];
export const CSV_CURRENCIES = ['EUR', 'JPY', 'BHD', 'USD'];

export function methodFor(format: ExportFormat, index: number): PayoutMethod | null {
  const holder = NAMES[index % NAMES.length] ?? 'Acme Ltd';
  const iban = IBANS[index % IBANS.length] ?? 'DE89370400440532013000';
  const kind = format === 'csv' ? (['sepa', 'paypal', 'wise', 'none'] as const)[index % 4] : format;
  switch (kind) {
    case 'sepa':
      return {
        type: 'sepa',
        accountHolder: holder,
        iban,
        ...(index % 2 === 0 ? { bic: 'COBADEFFXXX' } : {}),
      };
    case 'paypal':
      return { type: 'paypal', email: `partner${index}@example.com` };
    case 'wise':
      return { type: 'wise', email: `partner${index}@example.com`, accountHolder: holder, iban };
    default:
      return null;
  }
}

export function addressFor(index: number): Address | undefined {
  return index % 3 === 0
    ? undefined
    : { line1: `${index} Königstraße`, city: 'München', postalCode: '80331', country: 'DE' };
}

export function currencyFor(format: ExportFormat, index: number): string {
  return format === 'csv' ? (CSV_CURRENCIES[index % CSV_CURRENCIES.length] ?? 'EUR') : 'EUR';
}

export function amountFor(index: number): number {
  return 1 + ((index * 7_919) % 5_000_000);
}
