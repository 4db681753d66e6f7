/**
 * CDK app: `npx cdk synth` (offline) and `npx cdk deploy [-c stage=prod]`. cdk-nag's AWS Solutions
 * checks run at every synth: an unacknowledged finding fails it (acknowledgements: infra/constructs/nag.ts).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config.ts';
import { PayoutsStack } from './payouts-stack.ts';

const app = new App();
const config = loadConfig(app.node);
new PayoutsStack(app, `PartnerPayouts-${config.stage}`, {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Partner payouts: drafts, reviews, invoices, exports and payments',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
