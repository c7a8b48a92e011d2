import { paginateScan, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ScanSegment } from '../core/ports';
import { decodeOrReport, isBookkeepingKey, itemKey, type Item, type MalformedItemError } from './dynamodb-item-codec';

export interface IdentityScan<T> {
  readonly decode: (item: Item) => T;
  /** Told about each item `decode` refused (MalformedItemError); the scan goes on without it. */
  readonly onMalformed?: (key: string, error: MalformedItemError) => void;
  /** One parallel-scan segment instead of the whole table. */
  readonly segment?: ScanSegment;
  /** Called once per Scan request answered (one page), for request counters. */
  readonly onPage?: () => void;
  /** Handed each bookkeeping item the scan passes, undecoded. */
  readonly onBookkeeping?: (item: Item) => void;
  /** Items per Scan request (DynamoDB's own limit is 1 MB of items). @default DynamoDB's */
  readonly pageSize?: number;
}

/**
 * The one way this code reads the table through: every identity item, page by page, decoded;
 * bookkeeping items are left out, known or not. Errors other than a malformed item propagate.
 */
export async function scanIdentities<T>(client: DynamoDBClient, tableName: string, scan: IdentityScan<T>): Promise<T[]> {
  const decoded: T[] = [];
  const pages = paginateScan(
    { client },
    {
      TableName: tableName,
      ...(scan.segment ? { Segment: scan.segment.segment, TotalSegments: scan.segment.totalSegments } : {}),
      ...(scan.pageSize ? { Limit: scan.pageSize } : {}),
    },
  );
  for await (const page of pages) {
    scan.onPage?.();
    for (const item of page.Items ?? []) {
      if (isBookkeepingKey(itemKey(item))) {
        scan.onBookkeeping?.(item);
        continue;
      }
      const value = decodeOrReport(item, scan.decode, scan.onMalformed);
      if (value !== undefined) decoded.push(value);
    }
  }
  return decoded;
}
