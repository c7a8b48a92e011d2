import { ConsolePublisher } from '../../lambda/adapters/console-publisher';
import { diffUnread } from '../../lambda/core/diff';
import { buildEvent } from '../../lambda/core/event-builder';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadChangedEvent } from '../../lambda/core/model';
import { buildPublication, eventToJson, type Publication } from '../../lambda/core/publication';

function eventFor(identity: string, label?: string): UnreadChangedEvent {
  const previous = normalizeState(1, [{ objectId: '396001', streamId: '19155', unread: 1 }]);
  const next = normalizeState(3, [{ objectId: '396001', streamId: '19155', unread: 3 }]);
  return buildEvent({
    identityId: parseIdentityId(identity),
    ...(label !== undefined ? { label } : {}),
    fromVersion: 1,
    previous,
    next,
    diff: diffUnread(previous, next)!,
    observedAt: new Date('2026-02-12T15:09:23.998Z'),
  });
}

/** An in-memory sink: everything written, in order. */
function sink(): { write(chunk: string): boolean; text(): string } {
  const chunks: string[] = [];
  return { write: (chunk) => chunks.push(chunk) > 0, text: () => chunks.join('') };
}

describe('ConsolePublisher', () => {
  it('writes each event as one line holding exactly its default JSON', async () => {
    // Prepare
    const events = [eventFor('558355'), eventFor('9223372036854775807')];
    const out = sink();

    // Act
    await new ConsolePublisher(out).publishBatch(events.map((e) => buildPublication(e)));

    // Assess
    expect(out.text()).toBe(events.map((e) => `${eventToJson(e)}\n`).join(''));
  });

  it('answers ok for every entry', async () => {
    // Prepare
    const batch = [eventFor('1'), eventFor('2'), eventFor('3')].map((e) => buildPublication(e));

    // Act
    const results = await new ConsolePublisher(sink()).publishBatch(batch);

    // Assess
    expect(results).toEqual(batch.map((p) => ({ eventId: p.eventId, ok: true })));
  });

  it('keeps an event on one line when its label holds line breaks and U+2028', async () => {
    // Prepare
    const out = sink();
    const publication = buildPublication(eventFor('1', 'two\nlines\u2028and\r\nmore'));

    // Act
    await new ConsolePublisher(out).publishBatch([publication]);

    // Assess
    const lines = out.text().split(/\r\n|\r|\n|\u2028|\u2029/);
    expect(lines).toHaveLength(2);
    expect((JSON.parse(lines[0]!) as { label: string }).label).toBe('two\nlines\u2028and\r\nmore');
  });

  it('fails an entry whose message has no default JSON without writing it', async () => {
    // Prepare
    const out = sink();
    const broken: Publication = { eventId: 'e1', identityId: '1', subject: 's', message: 'not json', attributes: {}, sizeBytes: 8 };

    // Act
    const results = await new ConsolePublisher(out).publishBatch([broken]);

    // Assess
    expect(results).toEqual([{ eventId: 'e1', ok: false, reason: 'message has no default JSON' }]);
    expect(out.text()).toBe('');
  });

  it('writes to process.stdout when no sink is given', async () => {
    // Prepare
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);

    // Act
    await new ConsolePublisher().publishBatch([buildPublication(eventFor('7'))]);

    // Assess
    expect(write).toHaveBeenCalledWith(`${eventToJson(eventFor('7'))}\n`);
    write.mockRestore();
  });
});
