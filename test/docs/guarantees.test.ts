import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readPage, ROOT } from './markdown';

/**
 * docs/guarantees.md names, for each guarantee, the test that fails when it breaks:
 * `[file](../test/…) › "test name", "another"`. A renamed or deleted test must not leave the
 * page pointing at nothing.
 */
function namedTests(): { file: string; name: string }[] {
  const named: { file: string; name: string }[] = [];
  for (const match of readPage('docs/guarantees.md').matchAll(/\]\(([^)]+)\) › ((?:"[^"]+"(?:, | and )?)+)/g)) {
    const file = path.relative(ROOT, path.resolve(ROOT, 'docs', match[1]!));
    for (const quoted of match[2]!.matchAll(/"([^"]+)"/g)) named.push({ file, name: quoted[1]! });
  }
  return named;
}

/** The linked test file and the files beside it (the soak's checks are named in its model, soak-model.ts). */
function sourcesAround(file: string): string {
  const folder = path.join(ROOT, path.dirname(file));
  return readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(path.join(folder, name), 'utf8'))
    .join('\n');
}

describe('docs/guarantees.md', () => {
  const named = namedTests();

  test('quotes the tests that prove its guarantees', () => {
    expect(named.length).toBeGreaterThanOrEqual(20);
  });

  test.each(named.map(({ file, name }) => [name, file]))('names a test that exists: "%s" (%s)', (name, file) => {
    expect(sourcesAround(file)).toContain(name);
  });
});
