import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

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
 * esbuild, X-Ray tracing, JSON logs into an explicit log group with retention, and an execution
 * role of its own that starts empty (no AWS managed policy): it may write to its log group, and
 * anything else is granted by whoever composes it.
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
    const ownLogGroup = props.logGroup
      ? undefined
      : new logs.LogGroup(scope, `${id}Logs`, {
          retention: logGroupRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy: logGroupRemovalPolicy ?? RemovalPolicy.RETAIN,
        });
    super(scope, id, {
      ...rest,
      runtime: rest.runtime ?? lambda.Runtime.NODEJS_24_X,
      architecture: rest.architecture ?? lambda.Architecture.ARM_64,
      memorySize: rest.memorySize ?? 256,
      tracing: rest.tracing ?? lambda.Tracing.ACTIVE,
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
    if ((rest.tracing ?? lambda.Tracing.ACTIVE) === lambda.Tracing.ACTIVE) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions: Resource must be "*". Nothing else in this role is granted on "*".',
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
