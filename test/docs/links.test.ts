import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { documentationPages, headingAnchors, headingSlug, linkTargets, readPage, ROOT } from './markdown';

interface RelativeLink {
  readonly target: string;
  /** The linked file relative to the root, or undefined for an anchor of the same page. */
  readonly file?: string;
  readonly anchor?: string;
}

/** Relative links that stay inside the project; web links and the shared folder beside it are not checked here. */
function relativeLinks(page: string): RelativeLink[] {
  const links: RelativeLink[] = [];
  for (const target of linkTargets(readPage(page))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const hash = target.indexOf('#');
    const filePart = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    if (filePart === '') {
      links.push({ target, anchor });
      continue;
    }
    const absolute = path.resolve(ROOT, path.dirname(page), decodeURIComponent(filePart));
    const file = path.relative(ROOT, absolute);
    if (file.startsWith('..')) continue;
    links.push({ target, file: file.split(path.sep).join('/'), anchor });
  }
  return links;
}

const pages = documentationPages();

describe('documentation links', () => {
  test('the pages checked are README.md and every docs/*.md', () => {
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/operations.md', 'docs/guarantees.md', 'docs/events.md']));
  });

  test.each(pages)('every relative link in %s points to an existing file', (page) => {
    const missing = relativeLinks(page)
      .filter((link) => link.file !== undefined)
      .filter((link) => !existsSync(path.join(ROOT, link.file!)))
      .map((link) => link.target);
    expect(missing).toEqual([]);
  });

  test.each(pages)('every #anchor in %s names a heading of the page it points to', (page) => {
    const broken = relativeLinks(page)
      .filter((link) => link.anchor !== undefined)
      .filter((link) => link.file === undefined || (link.file.endsWith('.md') && existsSync(path.join(ROOT, link.file))))
      .filter((link) => !headingAnchors(readPage(link.file ?? page)).has(link.anchor!))
      .map((link) => link.target);
    expect(broken).toEqual([]);
  });
});

describe('heading anchors', () => {
  test.each([
    ['Tear down', 'tear-down'],
    ["Shards and Lambda's concurrency quota", 'shards-and-lambdas-concurrency-quota'],
    ['`unread.changed`', 'unreadchanged'],
    ['Logs, metrics & tracing', 'logs-metrics--tracing'],
  ])('%s is reached as #%s, as on GitHub', (heading, slug) => {
    expect(headingSlug(heading)).toBe(slug);
  });

  test('a repeated heading gets a numbered anchor', () => {
    expect([...headingAnchors('## Deploy\n### Deploy\n```\n# not a heading\n```\n')]).toEqual(['deploy', 'deploy-1']);
  });
});
