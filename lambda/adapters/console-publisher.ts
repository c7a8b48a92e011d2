import type { EventPublisher, PublishResult } from '../core/ports';
import type { Publication } from '../core/publication';

/** The little of a stream this needs, so tests (and the CLI) can pass any sink. */
export interface LineSink {
  write(chunk: string): unknown;
}

/**
 * The publisher for runs without TOPIC_ARN: each event's JSON (the `default` of its SNS message,
 * exactly what a subscriber would receive) as one line, so the output pipes into `jq` or a file.
 */
export class ConsolePublisher implements EventPublisher {
  constructor(private readonly out: LineSink = process.stdout) {}

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    const results = batch.map((publication): PublishResult => {
      const json = defaultJson(publication.message);
      if (json === undefined) return { eventId: publication.eventId, ok: false, reason: 'message has no default JSON' };
      this.out.write(`${oneLine(json)}\n`);
      return { eventId: publication.eventId, ok: true };
    });
    return Promise.resolve(results);
  }
}

function defaultJson(message: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed === 'object' && parsed !== null && 'default' in parsed && typeof parsed.default === 'string') {
      return parsed.default;
    }
  } catch {
    // Not JSON: reported as a failed entry by the caller, never echoed.
  }
  return undefined;
}

/**
 * JSON.stringify escapes \n and \r inside strings but not U+2028/U+2029, which some line readers
 * split on; escaping them keeps one event per line and the JSON unchanged in meaning.
 */
function oneLine(json: string): string {
  return json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029').replace(/[\r\n]+/g, ' ');
}
