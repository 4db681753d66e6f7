/**
 * Self-billing as CloudFormation (bundling skipped, as in stack.test.ts): on `prod` the documents
 * bucket has Object Lock in governance mode for INVOICE_RETENTION_YEARS and is retained; on `dev`
 * it is disposable; the self-billing function carries the company details and the font files are
 * copied next to its bundle; the API functions get only what they call.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type Json, synth } from '../support/cdk.ts';

/** Each test synthesizes the whole stack (once or twice): slow on a loaded machine. */
const SYNTH_TIMEOUT = 120_000;

function documentsBucket(context: Record<string, string>): Json {
  const { stack, template } = synth(context);
  const id = stack.getLogicalId(stack.selfBilling.bucket.node.defaultChild as never);
  return template.toJSON().Resources[id];
}

describe('self-billing infrastructure', () => {
  it(
    'prod: Object Lock, governance mode, ten years by default, retained',
    () => {
      const bucket = documentsBucket({ stage: 'prod' });
      expect(bucket.Properties.ObjectLockEnabled).toBe(true);
      expect(bucket.Properties.ObjectLockConfiguration).toEqual({
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3650 } },
      });
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.DeletionPolicy).toBe('Retain');
      const custom = documentsBucket({ stage: 'prod', invoiceRetentionYears: '7' });
      expect(custom.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({
        Mode: 'GOVERNANCE',
        Days: 2555,
      });
    },
    SYNTH_TIMEOUT,
  );

  it(
    'dev: no lock, disposable',
    () => {
      const bucket = documentsBucket({});
      expect(bucket.Properties.ObjectLockEnabled).toBeUndefined();
      expect(bucket.DeletionPolicy).toBe('Delete');
    },
    SYNTH_TIMEOUT,
  );

  it(
    'the function has the company details, the bucket and the table; the API functions only what they call',
    () => {
      const { stack, template } = synth({
        companyName: 'Acme B.V.',
        companyAddress: 'Dam 1|1012 JS|Amsterdam|NL',
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('^Issues self-billed invoices'),
        Environment: {
          Variables: Match.objectLike({
            COMPANY_NAME: 'Acme B.V.',
            COMPANY_ADDRESS: 'Dam 1|1012 JS|Amsterdam|NL',
            COMPANY_VAT_ID: 'NL004495445B01',
            SELF_BILLING_BUCKET: Match.anyValue(),
            TABLE_NAME: Match.anyValue(),
          }),
        },
      });
      const env = (fn: { fn: { node: { defaultChild: unknown } } }) =>
        template.toJSON().Resources[stack.getLogicalId(fn.fn.node.defaultChild as never)].Properties
          .Environment.Variables;
      expect(env(stack.api.functions['partner-payouts']).SELF_BILLING_FUNCTION_NAME).toBeDefined();
      expect(env(stack.api.functions['partner-payouts']).SELF_BILLING_BUCKET).toBeDefined();
      expect(env(stack.api.functions.payouts).SELF_BILLING_BUCKET).toBeDefined();
      expect(env(stack.api.functions['partner-payouts']).COMPANY_NAME).toBeUndefined();
      expect(env(stack.api.functions.partners).SELF_BILLING_AGREEMENT_VERSION).toBe('2026-01');
    },
    SYNTH_TIMEOUT,
  );
});
