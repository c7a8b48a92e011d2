import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CONTROL_TOWER, CONTROL_TOWER_MIN_LOG_RETENTION_DAYS } from './control-tower';

/**
 * How every function of the house is bundled: by the esbuild in node_modules (never Docker),
 * to one minified ES module with a linked source map.
 */
export const HOUSE_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  // Prefer the ESM builds of dependencies, so esbuild can tree-shake them.
  mainFields: ['module', 'main'],
  // CommonJS dependencies bundled into an ES module still call require() for Node built-ins.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  minify: true,
  // Class and function names survive minification: the Lambda runtime logs an error's constructor
  // name as its errorType ("CycleAbortedError", not "Qy").
  keepNames: true,
  sourceMap: true,
  sourceMapMode: nodejs.SourceMapMode.DEFAULT,
  // File and line numbers are enough for stack traces; the sources themselves need not ship.
  sourcesContent: false,
  // Bundle the pinned AWS SDK v3 too: what runs in Lambda is the version the tests ran, not the runtime's copy.
  externalModules: [],
  forceDockerBundling: false,
  // esbuild's warnings and errors only: no size table on every synth (and in the tests).
  logLevel: nodejs.LogLevel.WARNING,
};

export interface HouseNodejsFunctionProps extends Omit<
    nodejs.NodejsFunctionProps,
    'logRetention' | 'logRetentionRole' | 'logRetentionRetryOptions' | 'awsSdkConnectionReuse'
  > {
  /**
   * Retention of the log group the function creates when `logGroup` is not given.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logGroupRetention?: logs.RetentionDays;
  /**
   * What happens to that log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logGroupRemovalPolicy?: RemovalPolicy;
}

/**
 * A `NodejsFunction` with the house defaults: Node.js 24 on ARM64, ESM bundle from local
 * esbuild, no X-Ray tracing, JSON logs into an explicit log group with retention, and an
 * execution role of its own that starts empty (no AWS managed policy): it may write to its log
 * group, and anything else is granted by whoever composes it.
 */
export class HouseNodejsFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: HouseNodejsFunctionProps) {
    const { logGroupRetention, logGroupRemovalPolicy, bundling, ...rest } = props;
    // Created beside the function (a subclass cannot add children before super): the function's configuration names both.
    const role =
      props.role ??
      new iam.Role(scope, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Execution role of ${id}`,
      });
    const retention = logGroupRetention ?? logs.RetentionDays.ONE_MONTH;
    const ownLogGroup = props.logGroup
      ? undefined
      : new logs.LogGroup(scope, `${id}Logs`, { retention, removalPolicy: logGroupRemovalPolicy ?? RemovalPolicy.RETAIN });
    if (ownLogGroup) acknowledgeLogGroupChoices(ownLogGroup, retention);
    super(scope, id, {
      ...rest,
      runtime: rest.runtime ?? lambda.Runtime.NODEJS_24_X,
      architecture: rest.architecture ?? lambda.Architecture.ARM_64,
      memorySize: rest.memorySize ?? 256,
      // Active tracing records only the invocation unless the code is instrumented, and instrumenting
      // (Powertools Tracer, aws-xray-sdk-core) costs bundle size and CPU per call: the logs and metrics tell more.
      tracing: rest.tracing ?? lambda.Tracing.DISABLED,
      loggingFormat: rest.loggingFormat ?? lambda.LoggingFormat.JSON,
      // An SDK v2 switch: never set AWS_NODEJS_CONNECTION_REUSE_ENABLED (SDK v3 reuses connections by itself).
      awsSdkConnectionReuse: false,
      // Without it the source map ships but stack traces still point into the minified bundle.
      environment: { NODE_OPTIONS: '--enable-source-maps', ...rest.environment },
      role,
      logGroup: props.logGroup ?? ownLogGroup,
      bundling: { ...HOUSE_BUNDLING, ...bundling },
    });
    // Only what the managed basic-execution policy would give, scoped to this one log group.
    ownLogGroup?.grantWrite(role);
    if ((rest.tracing ?? lambda.Tracing.DISABLED) !== lambda.Tracing.ACTIVE) {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason: 'No X-Ray tracing: uninstrumented, it would record only the invocation, which the Lambda metrics already show; instrumenting the SDK and HTTP calls costs bundle size and CPU per identity. The cycle logs and metrics say what each run did.',
      });
    }
    if (!rest.vpc) {
      Validations.of(this).acknowledge({
        id: CONTROL_TOWER.lambdaInVpc,
        reason:
          'Outside a VPC on purpose: the function reaches only public endpoints (CommBox over HTTPS, DynamoDB, SNS and Secrets Manager with IAM), so a VPC would add a NAT gateway or endpoints to pay for and keep, and protect nothing that TLS and IAM do not already.',
      });
    }
    if (rest.onFailure) {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Failed asynchronous invocations go to the on-failure destination, which records the error and the request; a dead-letter queue as well would only receive the same events with less context.',
      });
    }
  }
}

/** The Control Tower log-group controls the house does not adopt, each with its reason. */
function acknowledgeLogGroupChoices(logGroup: logs.LogGroup, retention: logs.RetentionDays): void {
  Validations.of(logGroup).acknowledge({
    id: CONTROL_TOWER.logGroupEncrypted,
    reason:
      'CloudWatch Logs encrypts every log group at rest already. These logs carry ids, counts and error kinds, never a token or message content, so a customer managed key would add a key policy for the logs service and a key to keep as long as the retained group, and protect nothing more.',
  });
  const days: number = retention;
  if (retention !== logs.RetentionDays.INFINITE && days < CONTROL_TOWER_MIN_LOG_RETENTION_DAYS) {
    Validations.of(logGroup).acknowledge({
      id: CONTROL_TOWER.logGroupRetention,
      reason: `Kept ${retention} days, not a year: these are operating logs for diagnosing recent cycles (the table holds the state, the topic the events), and a year of a poll every minute costs storage nobody reads. An account that must keep a year sets the context key logRetentionDays=${CONTROL_TOWER_MIN_LOG_RETENTION_DAYS}, and this acknowledgement goes away.`,
    });
  }
}
