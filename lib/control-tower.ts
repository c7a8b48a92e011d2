/**
 * AWS Control Tower proactive controls by the rule ids the cfn-guard validation plugin
 * (`@cdklabs/cdk-validator-cfnguard`, registered in `bin/app.ts`) reports them under. A finding
 * the stack accepts on purpose is acknowledged where its resource is made, with the reason:
 * `Validations.of(scope).acknowledge({ id: CONTROL_TOWER.lambdaInVpc, reason })`.
 */
export const CONTROL_TOWER = {
  /** CT.LAMBDA.PR.3: a Lambda function runs in a customer-managed VPC. */
  lambdaInVpc: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
  /** CT.CLOUDWATCH.PR.2: a log group keeps its events for at least a year. */
  logGroupRetention: 'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
  /** CT.CLOUDWATCH.PR.3: a log group is encrypted with a KMS key. */
  logGroupEncrypted: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
  /** CT.LAMBDA.PR.5: a Lambda function URL uses AWS IAM authentication. */
  lambdaFunctionUrlAuth: 'cdk-validator-cfnguard::lambda_function_url_auth_check',
  /** CT.LAMBDA.PR.2: a Lambda function's resource-based policy prohibits public access (a URL with auth NONE is public). */
  lambdaFunctionPublicAccess: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
} as const;

/** The retention CT.CLOUDWATCH.PR.2 asks for. */
export const CONTROL_TOWER_MIN_LOG_RETENTION_DAYS = 365;
