/**
 * The top self-time functions of a V8 `.cpuprofile` (what `--profile` writes), so the benchmark
 * prints where the poller's CPU goes instead of leaving a file to open in DevTools.
 */
export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileEntry {
  /** `function (file:line)`, the file shortened to its package or project path. */
  readonly name: string;
  readonly selfMs: number;
  /** Share of the profile's sampled time, idle excluded. */
  readonly share: number;
}

export interface ProfileSummary {
  /** Sampled time with the process on a CPU (idle and the profiler's own ticks excluded). */
  readonly busyMs: number;
  readonly top: readonly ProfileEntry[];
  /** Self time grouped by where the code lives (node internals, a package, this project). */
  readonly byArea: readonly ProfileEntry[];
}

const NOT_WORK = new Set(['(idle)', '(program)', '(root)']);

/** A path relative to the project or to `node_modules`; `node:` internals keep their name. */
export function shortUrl(url: string): string {
  if (url === '') return '';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const project = url.search(/\/(lambda|bench|local|lib)\//);
  if (project >= 0) return url.slice(project + 1);
  return url.replace(/^file:\/\//, '');
}

/** The package (`@aws-sdk/client-dynamodb`, `valibot`), `node:` for Node's own code, or the project folder. */
export function areaOf(url: string): string {
  if (url === '') return '(native/GC)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] ?? ''}`;
  const short = shortUrl(url);
  if (short !== url.replace(/^file:\/\//, '') || url.includes('node_modules/')) {
    const parts = short.split('/');
    if (url.includes('node_modules/')) return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? short);
    return parts.slice(0, Math.min(parts.length - 1, 3)).join('/') || short;
  }
  return short;
}

/** Self time per function from the samples (timeDeltas[i] is the time before sample i). */
export function summarizeProfile(profile: CpuProfile, topN = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i += 1) {
    // The delta after sample i is the time it stood for; the last one gets the mean.
    const next = deltas[i + 1] ?? 0;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next));
  }
  const byFunction = new Map<string, number>();
  const byAreaUs = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (NOT_WORK.has(functionName)) continue;
    busyUs += us;
    const where = url === '' ? '' : ` (${shortUrl(url)}:${lineNumber + 1})`;
    const name = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const area = functionName === '(garbage collector)' ? '(garbage collector)' : areaOf(url);
    byAreaUs.set(area, (byAreaUs.get(area) ?? 0) + us);
  }
  const entries = (map: Map<string, number>, n: number): ProfileEntry[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, share: busyUs === 0 ? 0 : Math.round((us / busyUs) * 1000) / 1000 }));
  return { busyMs: Math.round(busyUs / 1000), top: entries(byFunction, topN), byArea: entries(byAreaUs, 10) };
}

/** The summary as lines of at most `width` columns. */
export function formatProfile(summary: ProfileSummary, width = 100): string {
  const line = (entry: ProfileEntry): string => {
    const head = `${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.selfMs.toFixed(0).padStart(6)} ms  `;
    const room = width - head.length;
    return head + (entry.name.length > room ? `…${entry.name.slice(entry.name.length - room + 1)}` : entry.name);
  };
  return [
    `poller CPU profile of the measured cycles: ${summary.busyMs} ms on a CPU; self time, top functions:`,
    ...summary.top.map(line),
    'by area:',
    ...summary.byArea.map(line),
  ].join('\n');
}
