/**
 * STYLE.md's rules for lambda/ are enforced by eslint.config.mjs: the core stays pure (no AWS
 * SDK, network, process, timers or clock of its own) and no file in lambda/ writes to the console.
 * These tests lint snippets as if they were files there, with the project's own config file.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface Finding {
  readonly line: number;
  readonly ruleId: string | null;
}

/**
 * ESLint loads its flat config with a dynamic `import()`, which Jest's module system refuses, so
 * the Node API runs in a child process. Type-aware rules are switched off: a snippet is not a file
 * the TypeScript project knows, and the rules under test are syntactic.
 */
const LINT_TEXTS = `
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { readFileSync } from 'node:fs';
const eslint = new ESLint({ cwd: process.cwd(), overrideConfigFile: 'eslint.config.mjs', overrideConfig: tseslint.configs.disableTypeChecked });
const results = [];
for (const { code, filePath } of JSON.parse(readFileSync(0, 'utf8'))) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push(result.messages.map((m) => ({ line: m.line, ruleId: m.ruleId })));
}
process.stdout.write(JSON.stringify(results));
`;

function lintTexts(files: ReadonlyArray<{ code: string; filePath: string }>): Finding[][] {
  const run = spawnSync(process.execPath, ['--input-type=module', '--eval', LINT_TEXTS], { cwd: root, input: JSON.stringify(files), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Finding[][];
}

const IMPURE = [
  "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';", // 1
  "import { request } from 'node:https';", // 2
  "import { lookup } from 'node:dns';", // 3
  "import { Agent } from 'undici';", // 4
  'export const clients = [DynamoDBClient, request, lookup, Agent];', // 5
  'export const table = process.env.TABLE_NAME;', // 6
  "export const answer = fetch('https://api.commbox.io');", // 7
  'export const timer = setTimeout(() => undefined, 10);', // 8
  'export const now = Date.now();', // 9
  'export const today = new Date();', // 10
  'console.log(table);', // 11
].join('\n');

const PURE = ['export function observedAt(clock: () => number): Date {', '  return new Date(clock());', '}'].join('\n');

let findings: Finding[][];

beforeAll(() => {
  findings = lintTexts([
    { code: IMPURE, filePath: 'lambda/core/impure-probe.ts' },
    { code: PURE, filePath: 'lambda/core/pure-probe.ts' },
    { code: IMPURE, filePath: 'lambda/adapters/impure-probe.ts' },
  ]);
});

function rulesByLine(found: Finding[]): Record<number, Array<string | null>> {
  const byLine: Record<number, Array<string | null>> = {};
  for (const { line, ruleId } of found) (byLine[line] ??= []).push(ruleId);
  return byLine;
}

describe('lint rules for lambda/core', () => {
  test('refuse the AWS SDK, network modules, process, fetch, timers and the clock', () => {
    expect(rulesByLine(findings[0]!)).toEqual({
      1: ['no-restricted-imports'],
      2: ['no-restricted-imports'],
      3: ['no-restricted-imports'],
      4: ['no-restricted-imports'],
      6: ['no-restricted-globals'],
      7: ['no-restricted-globals'],
      8: ['no-restricted-globals'],
      9: ['no-restricted-syntax'],
      10: ['no-restricted-syntax'],
      11: ['no-console'],
    });
  });

  test('accept a date made from the clock passed in', () => {
    expect(findings[1]).toEqual([]);
  });

  test('apply to the core only: an adapter may use the SDK, process and timers, but not the console', () => {
    expect(findings[2]).toEqual([{ line: 11, ruleId: 'no-console' }]);
  });
});
