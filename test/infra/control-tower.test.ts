import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Validations, type App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { UnreadNotifierStack, type UnreadNotifierStackProps } from '../../lib/unread-notifier-stack';
import { CONFIGURED_PROPS, testApp } from './fixtures';

// AWS Control Tower's proactive controls, run as `cdk synth` runs them (bin/app.ts): the
// cfn-guard plugin on the synthesized templates, with the acknowledgements recorded in the
// construct tree. The plugin runs the cfn-guard binary shipped in node_modules: offline.

interface Finding {
  readonly ruleName: string;
  readonly description: string;
  readonly violatingConstructs: readonly { readonly constructPath: string }[];
}
interface SuppressedFinding extends Finding {
  /** Where the acknowledgement was made, and why. */
  readonly reason: string;
  readonly acknowledgedAt: string;
}
interface PluginReport {
  readonly pluginName: string;
  readonly violations: readonly Finding[];
  readonly suppressedViolations?: readonly SuppressedFinding[];
}

const validator = new CfnGuardValidator();

// One app, one synth, three stacks: the defaults, everything configured, and a year of logs.
const STACKS: Record<string, UnreadNotifierStackProps> = {
  Defaults: {},
  Configured: CONFIGURED_PROPS,
  YearOfLogs: { logRetention: logs.RetentionDays.ONE_YEAR },
};
const app: App = testApp({ cloudFormationValidation: false });
for (const [name, props] of Object.entries(STACKS)) new UnreadNotifierStack(app, name, props);
Validations.of(app).addPlugins(validator);
// In a test the app throws on an unacknowledged finding, with the report in the message.
const assembly = app.synth();
const pluginReports = (JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: PluginReport[] }).pluginReports;
const report = pluginReports.find((r) => r.pluginName === validator.name)!;

/** The findings of one stack, each as `Poller/Function: CT.LAMBDA.PR.3`. */
function findingsOf(findings: readonly Finding[] | undefined, stackName: string): string[] {
  return (findings ?? [])
    .flatMap((finding) =>
      finding.violatingConstructs
        .filter((c) => c.constructPath.startsWith(`${stackName}/`))
        .map((c) => `${c.constructPath.slice(stackName.length + 1).replace(/\/Resource$/, '')}: ${controlId(finding)}`),
    )
    .sort();
}

/** The control's own id (CT.KMS.PR.3), which the rule's description starts with. */
function controlId(finding: Finding): string {
  return /^\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(finding.description)?.[1] ?? finding.ruleName;
}

test('the Control Tower rules ran on every stack', () => {
  expect(report).toBeDefined();
  expect(Object.keys(STACKS).every((name) => findingsOf(report.suppressedViolations, name).length > 0)).toBe(true);
});

describe.each(Object.keys(STACKS))('%s stack', (name) => {
  test('Control Tower: no unacknowledged finding', () => {
    expect(findingsOf(report.violations, name)).toEqual([]);
  });

  test('every acknowledgement carries a reason that explains it', () => {
    const own = (report.suppressedViolations ?? []).filter((f) => f.violatingConstructs.some((c) => c.constructPath.startsWith(`${name}/`)));
    for (const finding of own) {
      expect([finding.acknowledgedAt, controlId(finding), finding.reason.length >= 100]).toEqual([finding.acknowledgedAt, controlId(finding), true]);
    }
  });
});

describe('acknowledged Control Tower findings (a new one must be added here on purpose)', () => {
  test('defaults: the functions outside a VPC, their log groups without a customer key and kept a month', () => {
    expect(findingsOf(report.suppressedViolations, 'Defaults')).toEqual([
      'Poller/Function: CT.LAMBDA.PR.3',
      'Poller/FunctionLogs: CT.CLOUDWATCH.PR.2',
      'Poller/FunctionLogs: CT.CLOUDWATCH.PR.3',
      'Webhooks/Function: CT.LAMBDA.PR.3',
      'Webhooks/FunctionLogs: CT.CLOUDWATCH.PR.2',
      'Webhooks/FunctionLogs: CT.CLOUDWATCH.PR.3',
    ]);
  });

  test('the fully configured stack acknowledges nothing more: every queue and key passes', () => {
    expect(findingsOf(report.suppressedViolations, 'Configured')).toEqual(findingsOf(report.suppressedViolations, 'Defaults'));
  });

  test('with a year of logs (logRetentionDays=365) the retention control passes and is not acknowledged', () => {
    expect(findingsOf(report.suppressedViolations, 'YearOfLogs')).toEqual([
      'Poller/Function: CT.LAMBDA.PR.3',
      'Poller/FunctionLogs: CT.CLOUDWATCH.PR.3',
      'Webhooks/Function: CT.LAMBDA.PR.3',
      'Webhooks/FunctionLogs: CT.CLOUDWATCH.PR.3',
    ]);
  });
});
