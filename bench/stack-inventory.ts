import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { UnreadNotifierStack } from '../lib/unread-notifier-stack';
import type { FixedResources } from './cost-model';

/**
 * What the stack deploys with its defaults, read from the synthesized template (bundling skipped)
 * rather than restated here: the poller's memory, timeout and concurrency, the schedule, and the
 * resources billed by the month, so the cost model follows the stack as it changes.
 */
export interface StackInventory extends Omit<FixedResources, 'customMetrics'> {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly pollConcurrency: number;
  readonly scheduleMinutes: number;
  /** Schedules, one per shard (the default stack has one). */
  readonly schedules: number;
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

const ROOT = path.resolve(__dirname, '..');

function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

/** Minutes of `rate(5 minutes)`; undefined for any other expression. */
export function rateMinutes(expression: unknown): number | undefined {
  const match = typeof expression === 'string' ? /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression) : null;
  if (!match) return undefined;
  return Number(match[1]) * (match[2]?.startsWith('hour') ? 60 : 1);
}

/** Counts and reads the default stack's template. */
export function inventoryOf(resources: Readonly<Record<string, Resource>>): StackInventory {
  const all = Object.values(resources);
  const count = (type: string): number => all.filter((r) => r.Type === type).length;
  const pollers = all.filter((r) => r.Type === 'AWS::Lambda::Function' && (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POLL_CONCURRENCY !== undefined);
  const poller = pollers[0]?.Properties;
  if (pollers.length !== 1 || !poller) throw new Error(`expected one poller function (with POLL_CONCURRENCY), found ${pollers.length}`);
  const variables = (poller.Environment as { Variables: Record<string, unknown> }).Variables;
  const schedules = all.filter((r) => r.Type === 'AWS::Scheduler::Schedule');
  const minutes = rateMinutes(schedules[0]?.Properties?.ScheduleExpression);
  if (minutes === undefined) throw new Error('expected a schedule with a rate(...) expression');
  return {
    memoryMb: Number(poller.MemorySize ?? 128),
    timeoutSeconds: Number(poller.Timeout ?? 3),
    pollConcurrency: Number(variables.POLL_CONCURRENCY),
    scheduleMinutes: minutes,
    schedules: schedules.length,
    alarms: count('AWS::CloudWatch::Alarm'),
    kmsKeys: count('AWS::KMS::Key'),
    secrets: count('AWS::SecretsManager::Secret'),
    dashboards: count('AWS::CloudWatch::Dashboard'),
  };
}

/** Synthesizes the stack as `cdk synth` would with no context keys (bundling skipped) and reads it. */
export function stackInventory(): StackInventory {
  const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new UnreadNotifierStack(app, 'BenchInventory');
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, Resource> };
  return inventoryOf(template.Resources);
}
