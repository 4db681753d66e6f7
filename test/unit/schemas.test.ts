import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import { newId } from '../../shared/domain/ids.ts';
import {
  CreatePartner,
  PayoutMethod,
  SepaMethod,
  UpdateOwnProfile,
  WiseMethod,
} from '../../shared/domain/partner-schemas.ts';
import { CreateReward, RefuseReward, ReviewReward } from '../../shared/domain/reward-requests.ts';
import { ListQuery } from '../../shared/domain/schemas.ts';

const partnerId = newId('partner');
const validReward = { partnerId, amount: 1250, currency: 'EUR' };

/** The paths zod reports, joined with dots (`''` for the object itself). */
function issuePaths(schema: z.ZodMiniType, input: unknown): string[] {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((issue) => issue.path.join('.'));
}

function parsed<S extends z.ZodMiniType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(`expected success: ${JSON.stringify(result.error.issues)}`);
  return result.data;
}

describe('CreateReward', () => {
  it.each<[string, Record<string, unknown>]>([
    ['the minimal reward', validReward],
    ['a clawback', { ...validReward, amount: -500 }],
    ['one minor unit', { ...validReward, amount: 1 }],
    ['the largest safe amount', { ...validReward, amount: Number.MAX_SAFE_INTEGER }],
    ['a JPY amount', { ...validReward, currency: 'JPY', amount: 1000 }],
    [
      'every optional field',
      { ...validReward, description: 'Referral', externalId: 'order-42', status: 'accepted' },
    ],
  ])('accepts %s', (_name, input) => {
    expect(parsed(CreateReward, input)).toEqual(input);
  });

  it.each<[string, unknown, string]>([
    ['zero', 0, 'amount'],
    ['a fraction', 1.5, 'amount'],
    ['a string', '100', 'amount'],
    ['2**53', 2 ** 53, 'amount'],
    ['-(2**53)', -(2 ** 53), 'amount'],
    ['NaN', Number.NaN, 'amount'],
    ['Infinity', Number.POSITIVE_INFINITY, 'amount'],
    ['null', null, 'amount'],
  ])('refuses an amount of %s', (_name, amount, path) => {
    expect(issuePaths(CreateReward, { ...validReward, amount })).toContain(path);
  });

  it.each(['XXX', 'eur', 'EURO', 'EU', '', 'ZZZ'])('refuses the currency %j', (currency) => {
    expect(issuePaths(CreateReward, { ...validReward, currency })).toEqual(['currency']);
  });

  it('refuses unknown fields, naming them', () => {
    const result = CreateReward.safeParse({ ...validReward, payoutId: null, extra: 1 });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.code).toBe('unrecognized_keys');
    expect(issue && 'keys' in issue ? issue.keys : []).toEqual(['payoutId', 'extra']);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a missing partnerId', { amount: 1, currency: 'EUR' }, 'partnerId'],
    ['a reward id as partnerId', { ...validReward, partnerId: newId('reward') }, 'partnerId'],
    ['a missing amount', { partnerId, currency: 'EUR' }, 'amount'],
    ['a missing currency', { partnerId, amount: 1 }, 'currency'],
    ['status paid', { ...validReward, status: 'paid' }, 'status'],
    ['status refused', { ...validReward, status: 'refused' }, 'status'],
    ['an empty description', { ...validReward, description: '   ' }, 'description'],
    ['a long externalId', { ...validReward, externalId: 'x'.repeat(201) }, 'externalId'],
  ])('refuses %s', (_name, input, path) => {
    expect(issuePaths(CreateReward, input)).toContain(path);
  });
});

describe('payout methods', () => {
  it.each([
    ['DE89 3704 0044 0532 0130 00', 'DE89370400440532013000'],
    ['DE89370400440532013000', 'DE89370400440532013000'],
    ['de89 3704 0044 0532 0130 00', 'DE89370400440532013000'],
    ['FR14 2004 1010 0505 0001 3M02 606', 'FR1420041010050500013M02606'],
    ['FR7630006000011234567890189', 'FR7630006000011234567890189'],
  ])('accepts the IBAN %j and stores it as %s', (iban, stored) => {
    const method = parsed(SepaMethod, { type: 'sepa', accountHolder: 'Ada Lovelace', iban });
    expect(method.iban).toBe(stored);
    expect(method.iban).not.toMatch(/\s/);
  });

  it.each([
    ['a bad checksum (DE)', 'DE88 3704 0044 0532 0130 00'],
    ['a bad checksum (FR)', 'FR15 2004 1010 0505 0001 3M02 606'],
    ['a changed digit', 'DE89 3704 0044 0532 0130 01'],
    ['a short IBAN', 'DE89 3704 0044'],
    ['an unknown country', 'XX89 3704 0044 0532 0130 00'],
    ['garbage', 'not an iban'],
    ['an empty string', ''],
  ])('refuses %s', (_name, iban) => {
    expect(issuePaths(SepaMethod, { type: 'sepa', accountHolder: 'Ada', iban })).toEqual(['iban']);
  });

  it.each([
    ['DEUTDEFF', 'DEUTDEFF'],
    ['deut de ff', 'DEUTDEFF'],
    ['COBADEFFXXX', 'COBADEFFXXX'],
  ])('accepts the BIC %j as %s', (bic, stored) => {
    const method = parsed(SepaMethod, {
      type: 'sepa',
      accountHolder: 'Ada',
      iban: 'DE89370400440532013000',
      bic,
    });
    expect(method.bic).toBe(stored);
  });

  it.each(['DEUTDEF', 'DEUT1EFF', 'DEUTDEFFX', ''])('refuses the BIC %j', (bic) => {
    expect(
      issuePaths(SepaMethod, { type: 'sepa', accountHolder: 'Ada', iban: 'DE89370400440532013000', bic }),
    ).toEqual(['bic']);
  });

  it('checks the IBAN of a Wise method too', () => {
    const base = { type: 'wise', email: 'ada@example.com', accountHolder: 'Ada' };
    expect(parsed(WiseMethod, { ...base, iban: 'DE89 3704 0044 0532 0130 00' }).iban).toBe(
      'DE89370400440532013000',
    );
    expect(issuePaths(WiseMethod, { ...base, iban: 'DE88370400440532013000' })).toEqual(['iban']);
    expect(issuePaths(WiseMethod, { ...base, currency: 'XXX' })).toEqual(['currency']);
  });

  it.each<[string, unknown]>([
    ['an unknown type', { type: 'cheque', payee: 'Ada' }],
    ['a paypal method without email', { type: 'paypal' }],
    ['a paypal method with a bad email', { type: 'paypal', email: 'not-an-email' }],
    ['an unknown field', { type: 'paypal', email: 'ada@example.com', note: 'x' }],
    ['a sepa method without holder', { type: 'sepa', iban: 'DE89370400440532013000' }],
  ])('refuses %s', (_name, input) => {
    expect(PayoutMethod.safeParse(input).success).toBe(false);
  });
});

describe('ReviewReward', () => {
  it.each<[string, unknown]>([
    ['an approval', { decision: 'approve' }],
    ['an approval with a comment', { decision: 'approve', comment: 'fine' }],
    ['a dispute with a comment', { decision: 'dispute', comment: 'This order was returned' }],
  ])('accepts %s', (_name, input) => {
    expect(parsed(ReviewReward, input)).toEqual(input);
  });

  it.each<[string, unknown]>([
    ['a dispute without comment', { decision: 'dispute' }],
    ['a dispute with a blank comment', { decision: 'dispute', comment: '   ' }],
  ])('refuses %s on comment', (_name, input) => {
    expect(issuePaths(ReviewReward, input)).toEqual(['comment']);
  });

  it.each<[string, unknown]>([
    ['an unknown decision', { decision: 'reject', comment: 'no' }],
    ['no decision', { comment: 'hm' }],
    ['an unknown field', { decision: 'approve', rating: 5 }],
  ])('refuses %s', (_name, input) => {
    expect(ReviewReward.safeParse(input).success).toBe(false);
  });
});

describe('other request schemas', () => {
  it('RefuseReward needs a non-blank reason', () => {
    expect(issuePaths(RefuseReward, {})).toEqual(['reason']);
    expect(issuePaths(RefuseReward, { reason: '  ' })).toEqual(['reason']);
    expect(parsed(RefuseReward, { reason: ' duplicate order ' })).toEqual({ reason: 'duplicate order' });
  });

  it('UpdateOwnProfile takes only address and payoutMethod', () => {
    expect(parsed(UpdateOwnProfile, { address: null, payoutMethod: null })).toEqual({
      address: null,
      payoutMethod: null,
    });
    for (const field of ['name', 'email', 'country']) {
      const result = UpdateOwnProfile.safeParse({ [field]: 'x' });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
    }
  });

  it('CreatePartner checks the email and the country code', () => {
    expect(issuePaths(CreatePartner, { name: 'Ada', email: 'nope' })).toEqual(['email']);
    expect(issuePaths(CreatePartner, { name: 'Ada', email: 'ada@example.com', country: 'de' })).toEqual([
      'country',
    ]);
    expect(
      issuePaths(CreatePartner, {
        name: 'Ada',
        email: 'ada@example.com',
        address: { line1: '1 Main St', city: 'Berlin', country: 'DEU' },
      }),
    ).toEqual(['address.country']);
  });

  it.each<[Record<string, string>, boolean]>([
    [{}, true],
    [{ limit: '1' }, true],
    [{ limit: '100' }, true],
    [{ limit: '0' }, false],
    [{ limit: '101' }, false],
    [{ limit: 'abc' }, false],
    [{ limit: '1.5' }, false],
    [{ cursor: '' }, false],
    [{ sort: 'asc' }, false],
  ])('ListQuery %j valid: %s', (query, valid) => {
    expect(ListQuery.safeParse(query).success).toBe(valid);
  });

  it('ListQuery defaults the limit to 25 and coerces strings', () => {
    expect(parsed(ListQuery, {})).toEqual({ limit: 25 });
    expect(parsed(ListQuery, { limit: '7' })).toEqual({ limit: 7 });
  });
});
