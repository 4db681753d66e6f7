/**
 * The console's formatting module (web/src/format.ts): money in each currency's minor units as the
 * API counts them (EUR 2 decimals, JPY 0, BHD 3), negative amounts, labels of codes and events.
 */
import { describe, expect, it } from 'vitest';
import { label, money } from '../../web/src/format.ts';

describe('console formatting', () => {
  it.each([
    [125_050, 'EUR', '€1,250.50'],
    [-5_050, 'EUR', '-€50.50'],
    [1_250, 'JPY', '¥1,250'],
    [1_250, 'BHD', 'BHD 1.250'],
    [5, 'BHD', 'BHD 0.005'],
    [100, 'ISK', 'ISK 100'],
    [0, 'USD', '$0.00'],
  ])('formats %i %s as %s', (amount, currency, expected) => {
    expect(money(amount, currency).replace(/\u00a0/g, ' ')).toBe(expected);
  });

  it('keeps an unknown currency readable instead of throwing', () => {
    expect(money(12, 'XYZ')).toBe('12 XYZ');
  });

  it.each([
    ['pending', 'Pending'],
    ['payout.invoice_rejected', 'Invoice rejected'],
    ['fileName', 'File name'],
    ['below_minimum', 'Below minimum'],
  ])('labels %s as %s', (code, expected) => {
    expect(label(code)).toBe(expected);
  });
});
