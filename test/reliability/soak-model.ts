/**
 * The soak's model: what must hold of a recorded history, whatever faults it went through.
 *
 * Vocabulary:
 * - the *ledger* is every snapshot write the table accepted (baselines, changes at version v→v+1,
 *   claims, and the completes/releases that were sent);
 * - a *served* state is what the upstream answered to one successful poll of one cycle: the only
 *   states anything could detect. A change that came and went between two successful polls was
 *   never served and is not expected anywhere;
 * - a *delivery* is one message SNS accepted, as a subscriber receives it; a consumer that
 *   deduplicates on eventId keeps the first delivery of each id.
 *
 * The oracle below does not reuse the diff or the store under test, except `deriveEventId`,
 * whose determinism is itself what is being checked (same transition → same id). The alert
 * checks judge the alerts a deduplicating consumer keeps against the policy's rules and the
 * stored snapshot chain, with their own arithmetic (UTC quiet hours, cooldown spacing, episodes).
 */
import type { AlertPolicy } from '../../lambda/core/alert-policy';
import { deriveEventId } from '../../lambda/core/event-builder';
import type { IdentityId } from '../../lambda/core/identity-id';
import type { UnreadState } from '../../lambda/core/model';
import type { Delivery, LedgerEntry, SoakHistory, TableView } from './soak-rig';

export const CHECKS = {
  cyclesEndCleanly: 'a cycle ends normally unless its process was killed',
  chained: 'stored snapshots form one chain per identity: one baseline, then exactly one write per version',
  noUnchangedTransition: 'no transition (and so no event) is stored for an unchanged state',
  storedWasServed: 'every stored state is one the upstream served to the cycle that stored it',
  everyTransitionPublished: 'every stored transition was published',
  onceInOrder: 'a consumer deduplicating on eventId sees each transition exactly once, in version order, with the right content',
  consumerChain: "each event's previousTotal is the total of the event before it (the baseline for the first)",
  identicalRedeliveries: 'a redelivered eventId carries exactly the same event',
  noPhantomEvents: 'every delivered event belongs to a stored transition',
  publishedUnderClaim: 'an event is only published by a cycle holding its claim, and a live claim is never taken over',
  resentByNextCycle: 'an event SNS refused is sent again by the next cycle: its claim is released at once and taken over by the next cycle that sees it',
  versionsMonotonic: 'stored snapshot versions never go backwards and always hold the state stored for that version',
  observedChangesKept: 'a change served to a cycle that did not die is stored (by it or by an overlapping cycle)',
  quietStaySilent: 'an identity whose upstream never changed gets no event',
  finalMatchesUpstream: 'after the drain, every stored snapshot equals the upstream state, with nothing pending or failing',
  alertsDeliveredOnce: 'every stored alert is delivered, each alert is decided (stored) once, and every delivered alert was stored',
  alertRules: 'delivered alerts keep the policy: none inside quiet hours, one per cooldown (cleared aside), rises only, reminders within the maximum',
  alertsReportStoredStates: "every delivered alert's total and conversations are those of a stored snapshot of its identity",
  noAlertOwedAtTheEnd: 'after the drain, every identity still waiting has been told its current total (or more)',
} as const;
export type CheckName = keyof typeof CHECKS;

export interface SoakFacts {
  /** The final read of the table, after the drain cycles. */
  readonly final: TableView;
  /** What the upstream holds at the end. */
  readonly upstream: ReadonlyMap<string, UnreadState>;
  /** Identities the test never changed upstream. */
  readonly quiet: ReadonlySet<string>;
  /** The alert policy every identity had (the cycles' defaults; zone UTC). */
  readonly alertPolicy: AlertPolicy;
}

export interface Verdict {
  readonly violations: Record<CheckName, string[]>;
  readonly figures: {
    readonly transitionsChecked: number;
    readonly baselines: number;
    readonly deliveries: number;
    readonly redeliveries: number;
    readonly claimsTakenOver: number;
    readonly servedPolls: number;
    readonly observedChangesAudited: number;
    readonly alertsStored: number;
    readonly alertsDelivered: number;
    readonly alertRedeliveries: number;
    readonly alertsByKind: Readonly<Record<string, number>>;
  };
}

interface WireAlert {
  type: 'unread.alert';
  kind: 'new' | 'digest' | 'reminder' | 'cleared';
  eventId: string;
  total: number;
  lastAlertTotal: number;
  changes: number;
  waitingSince: string;
  observedAt: string;
  conversations: { objectId: unknown; unread: unknown }[];
}

interface WireEvent {
  version: unknown;
  type: unknown;
  eventId: unknown;
  identityId: unknown;
  previousTotal: unknown;
  total: unknown;
  delta: unknown;
  direction: unknown;
  conversations: unknown;
}

type Change = Extract<LedgerEntry, { kind: 'change' }>;
type AlertOnly = Extract<LedgerEntry, { kind: 'alert' }>;
type Baseline = Extract<LedgerEntry, { kind: 'baseline' }>;
type Claim = Extract<LedgerEntry, { kind: 'claim' }>;

/** Judges a history; every violation names the identity, version or event it is about. */
export function checkHistory(history: SoakHistory, facts: SoakFacts): Verdict {
  const v = Object.fromEntries(Object.keys(CHECKS).map((k) => [k, [] as string[]])) as Record<CheckName, string[]>;
  const baselines = new Map<string, Baseline[]>();
  const changes = new Map<string, Change[]>();
  const claims: Claim[] = [];
  const alertDecisions: AlertOnly[] = [];
  for (const entry of history.ledger) {
    if (entry.kind === 'baseline') push(baselines, entry.id, entry);
    if (entry.kind === 'change') push(changes, entry.id, entry);
    if (entry.kind === 'claim') claims.push(entry);
    if (entry.kind === 'alert') alertDecisions.push(entry);
  }
  const isAlert = (d: Delivery): boolean => (JSON.parse(d.payload) as { type?: unknown }).type === 'unread.alert';
  const changeDeliveries = history.deliveries.filter((d) => !isAlert(d));

  for (const log of history.cycles.values()) {
    if (log.unexpectedError !== undefined) v.cyclesEndCleanly.push(`cycle ${log.cycle}: ${log.unexpectedError}`);
  }

  // The chain: state of each version, per identity.
  const chains = new Map<string, UnreadState[]>();
  const ids = new Set([...facts.final.identities.keys(), ...baselines.keys(), ...changes.keys()]);
  for (const id of ids) {
    const own = baselines.get(id) ?? [];
    if (own.length !== 1) v.chained.push(`identity ${id}: ${own.length} baselines stored`);
    const chain: UnreadState[] = own[0] ? [own[0].state] : [];
    const byFrom = new Map<number, Change[]>();
    for (const c of changes.get(id) ?? []) push(byFrom, c.fromVersion, c);
    for (let version = 1; byFrom.size > 0; version += 1) {
      const writes = byFrom.get(version);
      if (!writes) {
        v.chained.push(`identity ${id}: versions stored from ${[...byFrom.keys()].join(', ')} but none from ${version}`);
        break;
      }
      byFrom.delete(version);
      if (writes.length > 1) v.chained.push(`identity ${id}: version ${version + 1} stored ${writes.length} times (cycles ${writes.map((w) => w.cycle).join(', ')})`);
      const write = writes[0] as Change;
      const previous = chain[version - 1];
      if (previous && sameState(previous, write.state)) {
        v.noUnchangedTransition.push(`identity ${id}: version ${version}→${version + 1} stores the same state`);
      }
      chain.push(write.state);
    }
    chains.set(id, chain);
  }

  // Stored states were served to the cycle that stored them.
  const servedBy = new Map<string, UnreadState>();
  for (const s of history.served) servedBy.set(`${s.cycle}/${s.id}`, s.state);
  for (const entry of history.ledger) {
    if (entry.kind !== 'baseline' && entry.kind !== 'change') continue;
    const served = servedBy.get(`${entry.cycle}/${entry.id}`);
    if (!served || !sameState(served, entry.state)) {
      v.storedWasServed.push(`identity ${entry.id}: cycle ${entry.cycle} stored ${show(entry.state)} but was served ${served ? show(served) : 'nothing'}`);
    }
  }

  // Deliveries: first of each eventId is what a deduplicating consumer keeps.
  const firstById = new Map<string, Delivery>();
  const deliveriesById = new Map<string, Delivery[]>();
  let redeliveries = 0;
  for (const d of history.deliveries) {
    push(deliveriesById, d.eventId, d);
    const first = firstById.get(d.eventId);
    if (!first) {
      firstById.set(d.eventId, d);
      continue;
    }
    redeliveries += 1;
    if (first.payload !== d.payload) v.identicalRedeliveries.push(`event ${d.eventId}: delivery #${d.seq} differs from delivery #${first.seq}`);
  }
  const storedEventIds = new Set([...changes.values()].flat().map((c) => c.event.eventId));
  for (const d of changeDeliveries) {
    if (!storedEventIds.has(d.eventId)) v.noPhantomEvents.push(`event ${d.eventId} was delivered but belongs to no stored transition`);
  }

  let transitionsChecked = 0;
  for (const [id, chain] of chains) {
    const kept = [...firstById.values()].filter((d) => d.identityId === id && !isAlert(d)).sort((a, b) => a.seq - b.seq);
    const ordered = [...(changes.get(id) ?? [])].sort((a, b) => a.fromVersion - b.fromVersion);
    for (const change of ordered) {
      transitionsChecked += 1;
      if (!firstById.has(change.event.eventId)) {
        v.everyTransitionPublished.push(`identity ${id}: transition ${change.fromVersion}→${change.fromVersion + 1} (event ${change.event.eventId}) never delivered`);
      }
    }
    // In order: the k-th event the consumer keeps is the k-th transition.
    for (let k = 0; k < Math.max(kept.length, ordered.length); k += 1) {
      const delivery = kept[k];
      const change = ordered[k];
      if (!delivery || !change) {
        v.onceInOrder.push(`identity ${id}: ${kept.length} distinct events delivered for ${ordered.length} stored transitions`);
        break;
      }
      const from = change.fromVersion;
      const previous = chain[from - 1];
      const next = chain[from];
      if (!previous || !next) break;
      const expectedId = deriveEventId(change.id as IdentityId, from, previous, next);
      if (change.event.eventId !== expectedId) v.onceInOrder.push(`identity ${id}: stored event of ${from}→${from + 1} has id ${change.event.eventId}, not the derived ${expectedId}`);
      if (delivery.eventId !== expectedId) {
        v.onceInOrder.push(`identity ${id}: event #${k + 1} the consumer keeps is ${delivery.eventId}, expected the one of ${from}→${from + 1} (${expectedId})`);
        continue;
      }
      const problem = contentProblem(parseWire(delivery.payload), id, previous, next);
      if (problem) v.onceInOrder.push(`identity ${id}: event of ${from}→${from + 1}: ${problem}`);
    }
    // The consumer's own view: totals chain from the baseline.
    let total = chain[0]?.total;
    for (const delivery of kept) {
      const wire = parseWire(delivery.payload);
      if (wire.previousTotal !== total) v.consumerChain.push(`identity ${id}: event ${delivery.eventId} says previousTotal ${String(wire.previousTotal)} after total ${String(total)}`);
      total = typeof wire.total === 'number' ? wire.total : undefined;
    }
  }

  // Claims: who may publish a pending event.
  const claimers = new Map<string, number[]>();
  const produced = new Map<string, number>();
  const bump = (eventId: string, value: number, by: number): void => {
    const key = `${eventId}@${value}`;
    produced.set(key, (produced.get(key) ?? 0) + by);
  };
  for (const entry of history.ledger) {
    if (entry.kind === 'change' || entry.kind === 'alert') {
      // A change and its alert are stored (and so claimed) by the same write.
      for (const eventId of [entry.kind === 'change' ? entry.event.eventId : undefined, entry.alert?.event.eventId]) {
        if (eventId === undefined) continue;
        push(claimers, eventId, entry.cycle);
        bump(eventId, entry.claimUntil, 1);
      }
    } else if (entry.kind === 'claim') {
      push(claimers, entry.eventId, entry.cycle);
      bump(entry.eventId, entry.until, 1);
      if (entry.seen > entry.now) {
        v.publishedUnderClaim.push(`identity ${entry.id}: cycle ${entry.cycle} took over event ${entry.eventId} whose claim ran until ${entry.seen}, at ${entry.now}`);
      }
    } else if (entry.kind === 'release') {
      bump(entry.eventId, 0, 1);
    }
  }
  for (const claim of claims) bump(claim.eventId, claim.seen, -1);
  for (const [key, balance] of produced) {
    if (balance < 0) v.publishedUnderClaim.push(`event ${key.replace('@', ' claim value ')}: taken over ${-balance} more time(s) than it was set`);
  }
  for (const d of history.deliveries) {
    if (!claimers.get(d.eventId)?.includes(d.cycle)) v.publishedUnderClaim.push(`event ${d.eventId}: delivered by cycle ${d.cycle}, which never held its claim`);
  }

  // Liveness of the outbox: released or expired claims are taken over in the round of the next
  // cycle that sees them all free (by that cycle, or by an overlapping one that won the
  // compare-and-set), and an entry released by a cycle that ran alone is sent again in the very
  // next round. While one entry of an identity is still claimed, the identity waits (order).
  const claimRounds = new Map<string, Set<number>>();
  for (const claim of claims) {
    const round = history.cycles.get(claim.cycle)?.round;
    if (round !== undefined) claimRounds.set(claim.eventId, new Set([...(claimRounds.get(claim.eventId) ?? []), round]));
  }
  const cyclesPerRound = new Map<number, number>();
  for (const log of history.cycles.values()) cyclesPerRound.set(log.round, (cyclesPerRound.get(log.round) ?? 0) + 1);
  const releasedAlone = new Map<string, number>();
  for (const entry of history.ledger) {
    if (entry.kind !== 'release') continue;
    const log = history.cycles.get(entry.cycle);
    if (log && !log.crashed && cyclesPerRound.get(log.round) === 1) releasedAlone.set(`${entry.eventId}@${log.round + 1}`, entry.cycle);
  }
  for (const log of history.cycles.values()) {
    if (log.crashed || log.unexpectedError !== undefined) continue;
    for (const [id, loaded] of log.loaded) {
      const pending = loaded.pending ?? [];
      const allFree = pending.every((p) => p.claimUntil <= log.now);
      for (const p of pending) {
        const taken = claimRounds.get(p.eventId)?.has(log.round) === true;
        const releasedBy = releasedAlone.get(`${p.eventId}@${log.round}`);
        if (releasedBy !== undefined && !taken) {
          v.resentByNextCycle.push(`identity ${id}: cycle ${releasedBy} released event ${p.eventId}; cycle ${log.cycle}, the next to see it (claim until ${p.claimUntil}, now ${log.now}), did not send it again`);
        } else if (allFree && !taken) {
          v.resentByNextCycle.push(`identity ${id}: cycle ${log.cycle} found event ${p.eventId} free to take over (claim until ${p.claimUntil}, now ${log.now}) and nobody took it`);
        }
      }
    }
  }

  // Versions: never backwards between rounds (the cycles of one round read at the same time);
  // every read shows exactly the state stored for that version.
  const lastVersion = new Map<string, number>();
  const rounds = new Map<number, { label: string; id: string; version?: number; state?: UnreadState }[]>();
  for (const log of history.cycles.values()) {
    for (const [id, loaded] of log.loaded) push(rounds, log.round, { label: `cycle ${log.cycle} loaded`, id, ...loaded });
  }
  const finalRound = Math.max(0, ...rounds.keys()) + 1;
  for (const [id, row] of facts.final.identities) push(rounds, finalRound, { label: 'the final table', id, ...row });
  for (const round of [...rounds.keys()].sort((a, b) => a - b)) {
    const reads = rounds.get(round) ?? [];
    for (const read of reads) {
      if (read.version === undefined) continue;
      const before = lastVersion.get(read.id) ?? 0;
      if (read.version < before) v.versionsMonotonic.push(`identity ${read.id}: ${read.label} version ${read.version} after an earlier read of ${before}`);
      const stored = chains.get(read.id)?.[read.version - 1];
      if (!stored || !read.state || !sameState(stored, read.state)) {
        v.versionsMonotonic.push(`identity ${read.id}: ${read.label} ${read.state ? show(read.state) : '?'} as version ${read.version}, stored was ${stored ? show(stored) : 'nothing'}`);
      }
    }
    for (const read of reads) {
      if (read.version !== undefined) lastVersion.set(read.id, Math.max(lastVersion.get(read.id) ?? 0, read.version));
    }
  }

  // A live cycle never drops what it was served, unless an overlapping cycle stored an alert
  // decision on the same version first (its change is then refused, and stored by a later cycle).
  let audited = 0;
  const changedFrom = new Set([...changes.values()].flat().map((c) => `${c.id}@${c.fromVersion}`));
  const decidedOn = new Set(alertDecisions.map((a) => `${a.id}@${a.version}@${history.cycles.get(a.cycle)?.round ?? -1}`));
  for (const s of history.served) {
    const log = history.cycles.get(s.cycle);
    const loaded = log?.loaded.get(s.id);
    if (!log || !loaded || log.crashed || log.unexpectedError !== undefined || (loaded.pending?.length ?? 0) > 0) continue;
    audited += 1;
    if (loaded.version === undefined) {
      if (!baselines.has(s.id)) v.observedChangesKept.push(`identity ${s.id}: cycle ${s.cycle} was served its first state but no baseline was stored`);
    } else if (
      loaded.state && !sameState(loaded.state, s.state) && !changedFrom.has(`${s.id}@${loaded.version}`) && !decidedOn.has(`${s.id}@${loaded.version}@${log.round}`)
    ) {
      v.observedChangesKept.push(`identity ${s.id}: cycle ${s.cycle} was served ${show(s.state)} over version ${loaded.version} ${show(loaded.state)}, and nothing was stored from that version`);
    }
  }

  for (const id of facts.quiet) {
    const events = history.deliveries.filter((d) => d.identityId === id).length;
    const stored = changes.get(id)?.length ?? 0;
    if (events > 0 || stored > 0) v.quietStaySilent.push(`identity ${id}: never changed upstream, yet ${stored} transitions stored and ${events} events delivered`);
  }

  for (const [id, upstream] of facts.upstream) {
    const row = facts.final.identities.get(id);
    const chain = chains.get(id) ?? [];
    if (!row) {
      v.finalMatchesUpstream.push(`identity ${id}: missing from the table`);
      continue;
    }
    const problems = [
      !row.state || !sameState(row.state, upstream) ? `stores ${row.state ? show(row.state) : 'nothing'}, upstream has ${show(upstream)}` : '',
      row.version !== chain.length ? `is at version ${String(row.version)}, the chain has ${chain.length}` : '',
      (row.pending?.length ?? 0) > 0 ? `still has ${row.pending?.map((p) => p.eventId).join(', ')} pending` : '',
      row.failureStreak !== 0 ? `still has a failure streak of ${row.failureStreak}` : '',
      row.notFound ? 'is still marked not found' : '',
    ].filter((p) => p !== '');
    for (const problem of problems) v.finalMatchesUpstream.push(`identity ${id}: ${problem}`);
  }

  const alertFigures = checkAlerts(history, facts, v, { baselines, changes, chains, alertDecisions, firstById, isAlert });

  return {
    violations: v,
    figures: {
      transitionsChecked,
      baselines: [...baselines.values()].flat().length,
      deliveries: history.deliveries.length,
      redeliveries,
      claimsTakenOver: claims.length,
      servedPolls: history.served.length,
      observedChangesAudited: audited,
      ...alertFigures,
    },
  };
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The alert checks: delivery (once each, nothing phantom), the policy's rules, and liveness at the end. */
function checkAlerts(
  history: SoakHistory,
  facts: SoakFacts,
  v: Record<CheckName, string[]>,
  known: {
    baselines: Map<string, Baseline[]>;
    changes: Map<string, Change[]>;
    chains: Map<string, UnreadState[]>;
    alertDecisions: AlertOnly[];
    firstById: Map<string, Delivery>;
    isAlert: (d: Delivery) => boolean;
  },
): Pick<Verdict['figures'], 'alertsStored' | 'alertsDelivered' | 'alertRedeliveries' | 'alertsByKind'> {
  const policy = facts.alertPolicy;
  // Every alert the table accepted, by the write that stored it.
  const storedAlerts = new Map<string, string[]>();
  for (const entry of history.ledger) {
    if ((entry.kind === 'change' || entry.kind === 'alert') && entry.alert) push(storedAlerts, entry.alert.event.eventId, `cycle ${entry.cycle}`);
  }
  for (const [eventId, writers] of storedAlerts) {
    if (writers.length > 1) v.alertsDeliveredOnce.push(`alert ${eventId} was stored ${writers.length} times (${writers.join(', ')}): two decisions of one alert`);
    if (!known.firstById.has(eventId)) v.alertsDeliveredOnce.push(`alert ${eventId}, stored by ${writers[0]}, was never delivered`);
  }
  const alertDeliveries = history.deliveries.filter(known.isAlert);
  for (const d of alertDeliveries) {
    if (!storedAlerts.has(d.eventId)) v.alertsDeliveredOnce.push(`alert ${d.eventId} was delivered but never stored`);
  }

  const kept = [...known.firstById.values()].filter(known.isAlert);
  const byKind: Record<string, number> = {};
  const perIdentity = new Map<string, WireAlert[]>();
  for (const d of kept) {
    const alert = JSON.parse(d.payload) as WireAlert;
    byKind[alert.kind] = (byKind[alert.kind] ?? 0) + 1;
    push(perIdentity, d.identityId, alert);
  }

  for (const [id, alerts] of perIdentity) {
    alerts.sort((a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt));
    let lastHeld: WireAlert | undefined;
    const reminders = new Map<string, number>();
    for (const alert of alerts) {
      const at = Date.parse(alert.observedAt);
      const where = `identity ${id}: ${alert.kind} ${alert.lastAlertTotal}->${alert.total} at ${alert.observedAt}`;
      if (policy.quietHours && inQuietHoursUtc(at, policy.quietHours)) v.alertRules.push(`${where} is inside quiet hours`);
      if (alert.kind !== 'cleared') {
        if (lastHeld && at - Date.parse(lastHeld.observedAt) < policy.cooldown) {
          v.alertRules.push(`${where} comes ${(at - Date.parse(lastHeld.observedAt)) / 1000} s after the ${lastHeld.kind} at ${lastHeld.observedAt}, within the cooldown`);
        }
        lastHeld = alert;
        if (alert.total < policy.minUnread) v.alertRules.push(`${where} is below minUnread`);
      }
      if ((alert.kind === 'new' || alert.kind === 'digest') && alert.total <= alert.lastAlertTotal) v.alertRules.push(`${where} reports no rise`);
      if (alert.kind === 'reminder') {
        const count = (reminders.get(alert.waitingSince) ?? 0) + 1;
        reminders.set(alert.waitingSince, count);
        if (count > policy.maxReminders) v.alertRules.push(`${where} is reminder ${count} of its episode, over ${policy.maxReminders}`);
        if (alert.total > alert.lastAlertTotal) v.alertRules.push(`${where} reminds of a rise instead of reporting it`);
      }
      if (alert.kind === 'cleared' && alert.total >= policy.minUnread) v.alertRules.push(`${where} clears an identity still waiting`);
      const conversations = (alert.conversations ?? []).map((c) => `${String(c.objectId)}=${String(c.unread)}`).join(' ');
      const matches = (known.chains.get(id) ?? []).some((s) => s.total === alert.total && s.conversations.map((c) => `${c.objectId}=${c.unread}`).join(' ') === conversations);
      if (!matches) v.alertsReportStoredStates.push(`${where} reports {${conversations}}, which no stored snapshot of the identity holds`);
    }
  }

  // Liveness: each identity's current waiting episode, read from the chain, and what it was told.
  for (const [id, chain] of known.chains) {
    const times = chainTimes(id, known.baselines, known.changes);
    const last = chain.length - 1;
    const final = chain[last];
    if (!final || final.total < policy.minUnread) continue;
    let start = last;
    while (start > 0 && (chain[start - 1]?.total ?? 0) >= policy.minUnread) start -= 1;
    const startedAt = times[start];
    if (startedAt === undefined) continue;
    const byBaseline = start === 0;
    const heardBefore = byBaseline ? (chain[0]?.total ?? 0) : (chain[start - 1]?.total ?? 0);
    const told = (perIdentity.get(id) ?? []).filter((a) => a.kind !== 'cleared' && Date.parse(a.waitingSince) === startedAt);
    const heard = told.at(-1)?.total ?? heardBefore;
    const owed = final.total > heard || (!byBaseline && told.length === 0);
    if (owed) {
      v.noAlertOwedAtTheEnd.push(
        `identity ${id}: waiting since ${new Date(startedAt).toISOString()} (${byBaseline ? 'its baseline' : 'a rise'}) at ${final.total} unread, last told ${told.length > 0 ? heard : 'nothing'}`,
      );
    }
  }

  return {
    alertsStored: storedAlerts.size,
    alertsDelivered: kept.length,
    alertRedeliveries: alertDeliveries.length - kept.length,
    alertsByKind: byKind,
  };
}

/** When each version of an identity's chain was stored: its baseline's time, then each change's observedAt. */
function chainTimes(id: string, baselines: Map<string, Baseline[]>, changes: Map<string, Change[]>): (number | undefined)[] {
  const times: (number | undefined)[] = [baselines.get(id)?.[0]?.at];
  for (const c of changes.get(id) ?? []) times[c.fromVersion] = Date.parse(c.event.observedAt);
  return times;
}

/** Quiet hours in UTC, by plain minute-of-day arithmetic (the soak's zone is UTC). */
function inQuietHoursUtc(at: number, quiet: { start: number; end: number }): boolean {
  const minute = Math.floor((((at % DAY) + DAY) % DAY) / MINUTE);
  return quiet.start < quiet.end ? minute >= quiet.start && minute < quiet.end : minute >= quiet.start || minute < quiet.end;
}

/** The wire event against the transition it should describe; undefined when it matches. */
function contentProblem(wire: WireEvent, id: string, previous: UnreadState, next: UnreadState): string | undefined {
  const expected = oracleDiff(previous, next);
  const conversations = Array.isArray(wire.conversations)
    ? (wire.conversations as { objectId?: unknown; streamId?: unknown; previous?: unknown; current?: unknown }[]).map(
        (c) => `${String(c.objectId)}:${String(c.previous)}->${String(c.current)}`,
      )
    : [];
  const mismatches = [
    wire.version === 1 && wire.type === 'unread.changed' ? '' : 'not a version 1 unread.changed event',
    String(wire.identityId) === id ? '' : `identityId ${String(wire.identityId)}`,
    wire.previousTotal === previous.total ? '' : `previousTotal ${String(wire.previousTotal)} (expected ${previous.total})`,
    wire.total === next.total ? '' : `total ${String(wire.total)} (expected ${next.total})`,
    wire.delta === next.total - previous.total ? '' : `delta ${String(wire.delta)}`,
    conversations.join(',') === expected.join(',') ? '' : `conversations ${conversations.join(',')} (expected ${expected.join(',')})`,
  ].filter((m) => m !== '');
  return mismatches.length > 0 ? mismatches.join('; ') : undefined;
}

/** The conversations whose count changed, `objectId:previous->current`, in numeric objectId order. */
function oracleDiff(previous: UnreadState, next: UnreadState): string[] {
  const before = new Map(previous.conversations.map((c) => [c.objectId, c.unread]));
  const after = new Map(next.conversations.map((c) => [c.objectId, c.unread]));
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  return ids.filter((o) => (before.get(o) ?? 0) !== (after.get(o) ?? 0)).map((o) => `${o}:${before.get(o) ?? 0}->${after.get(o) ?? 0}`);
}

/** Equal as a subscriber would see it: the total and every conversation's count (0 = absent). */
export function sameState(a: UnreadState, b: UnreadState): boolean {
  return a.total === b.total && oracleDiff(a, b).length === 0;
}

function parseWire(payload: string): WireEvent {
  return JSON.parse(payload) as WireEvent;
}

function show(state: UnreadState): string {
  return `{${state.total}: ${state.conversations.map((c) => `${c.objectId}=${c.unread}`).join(' ')}}`;
}

function push<K, T>(map: Map<K, T[]>, key: K, value: T): void {
  const existing = map.get(key);
  if (existing) existing.push(value);
  else map.set(key, [value]);
}
