/**
 * AWS list prices the benchmark's cost model uses: one region, ARM64, on-demand, in US dollars,
 * without free tiers (each service's free allowance is named in `freeTier` for the reader, never
 * subtracted). The one place to update them: change a figure here, its date and its source.
 */
export interface PriceList {
  readonly region: string;
  /** When the figures below were read from their sources. */
  readonly asOf: string;
  readonly lambda: {
    /** ARM64, first pricing tier (up to 7.5 billion GB-seconds a month). */
    readonly perGbSecond: number;
    readonly perMillionRequests: number;
    /** Memory that gives one vCPU; the CPU share is memory / this, at most 1 for one thread. */
    readonly mbPerVcpu: number;
  };
  readonly dynamodb: {
    /** On-demand. A write unit: one write of up to 1 KB. */
    readonly perMillionWriteUnits: number;
    /** On-demand. A read unit: one strongly consistent read of up to 4 KB, or two eventually consistent. */
    readonly perMillionReadUnits: number;
    /** Standard table class, plus continuous backups (point-in-time recovery) of the same bytes. */
    readonly perGbMonthStorage: number;
    readonly perGbMonthPitr: number;
  };
  readonly sns: {
    /** Standard topic; each 64 KB chunk of a published message (a batch entry too) is one request. */
    readonly perMillionPublishes: number;
  };
  readonly scheduler: { readonly perMillionInvocations: number };
  readonly secretsManager: { readonly perSecretMonth: number; readonly perTenThousandCalls: number };
  readonly cloudWatch: {
    readonly perGbLogsIngested: number;
    readonly perCustomMetricMonth: number;
    /** Standard resolution metric alarm. */
    readonly perAlarmMonth: number;
    readonly perDashboardMonth: number;
  };
  readonly kms: { readonly perKeyMonth: number; readonly perTenThousandRequests: number };
  readonly sources: Readonly<Record<string, string>>;
  readonly freeTier: Readonly<Record<string, string>>;
}

export const PRICES: PriceList = {
  region: 'us-east-1 (US East, N. Virginia)',
  asOf: '2026-11-30',
  lambda: { perGbSecond: 0.0000133334, perMillionRequests: 0.2, mbPerVcpu: 1769 },
  dynamodb: { perMillionWriteUnits: 0.625, perMillionReadUnits: 0.125, perGbMonthStorage: 0.25, perGbMonthPitr: 0.2 },
  sns: { perMillionPublishes: 0.5 },
  scheduler: { perMillionInvocations: 1 },
  secretsManager: { perSecretMonth: 0.4, perTenThousandCalls: 0.05 },
  cloudWatch: { perGbLogsIngested: 0.5, perCustomMetricMonth: 0.3, perAlarmMonth: 0.1, perDashboardMonth: 3 },
  kms: { perKeyMonth: 1, perTenThousandRequests: 0.03 },
  sources: {
    lambda: 'https://aws.amazon.com/lambda/pricing/',
    lambdaCpu: 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html (1,769 MB = one vCPU)',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    sns: 'https://aws.amazon.com/sns/pricing/',
    scheduler: 'https://aws.amazon.com/eventbridge/pricing/',
    secretsManager: 'https://aws.amazon.com/secrets-manager/pricing/',
    cloudWatch: 'https://aws.amazon.com/cloudwatch/pricing/',
    kms: 'https://aws.amazon.com/kms/pricing/',
  },
  freeTier: {
    lambda: '1M requests and 400,000 GB-s a month',
    dynamodb: '25 GB of storage',
    sns: '1M publishes a month',
    scheduler: '14M invocations a month',
    cloudWatch: '5 GB of logs, 10 custom metrics, 10 alarms, 3 dashboards',
    kms: '20,000 requests a month',
  },
};

/** Hours in the month AWS bills by (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;
