#!/usr/bin/env node
// The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this with tsx). Environment-agnostic:
// no account or region lookups, so it synthesizes offline and deploys wherever the credentials point.
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { checkContextKeys, ContextError, readAppConfig, type ContextKey } from '../lib/app-config';
import { UnreadNotifierStack } from '../lib/unread-notifier-stack';

const app = new App();
try {
  // The context is checked before any construct exists, so nothing is bundled for a refused value.
  checkContextKeys(Object.keys(app.node.getAllContext() as Record<string, unknown>));
  const { stackName, props } = readAppConfig((key: ContextKey): unknown => app.node.tryGetContext(key));
  const stack = new UnreadNotifierStack(app, stackName, {
    ...props,
    description: 'unread-notifier: polls CommBox for unread counts, keeps snapshots in DynamoDB, publishes changes to SNS',
  });
  Tags.of(stack).add('app', 'unread-notifier');
  // Synth (and so deploy) fails on any finding of these packs, or of AWS Control Tower's proactive
  // controls (run by the cfn-guard binary in node_modules, offline), that is not acknowledged with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app), new CfnGuardValidator());
} catch (error) {
  // A refused setting is one line a person can act on; `cdk synth --debug` (CDK_DEBUG) shows the stack.
  if (!(error instanceof Error) || process.env.CDK_DEBUG === 'true') throw error;
  const hint = error instanceof ContextError ? '' : ' (cdk synth --debug shows where)';
  process.stderr.write(`unread-notifier app: error: ${error.message.replace(/\s+/g, ' ').trim()}${hint}\n`);
  process.exit(1);
}
