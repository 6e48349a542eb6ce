import { MemoryStores } from '../../lib/store/memory';
import type { Stores } from '../../lib/store/ports';

/** Where a fault can strike: one kind of write the ingest makes. */
export const WRITE_KINDS = ['profile', 'pending', 'owner', 'events', 'visits', 'stats', 'deadLetters'] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/** What goes wrong during one attempt (one invocation of the ingest). */
export type Fault =
  | { kind: 'none' }
  /** The n-th write of this kind in the attempt is throttled (throws; nothing written). */
  | { kind: 'throttle'; on: WriteKind; nth: number }
  /** The function dies after `writes` writes: later writes of the attempt never happen, and the mapping retries the whole batch. */
  | { kind: 'crash'; writes: number };

/**
 * Memory stores that fail the way DynamoDB and Lambda do: a throttled write throws, and a crashed
 * invocation (timeout, out of memory, killed) has made some of its writes and none after. For
 * fault-injection tests only: the stores underneath are the same in-memory adapters.
 */
export class FaultyStores {
  readonly inner = new MemoryStores();
  private fault: Fault = { kind: 'none' };
  private seen: Record<string, number> = {};
  private writes = 0;
  /** True once the current attempt has crashed (its result must be ignored). */
  crashed = false;
  readonly injected = { throttles: 0, crashes: 0 };

  /** Arms the fault for the next attempt. */
  arm(fault: Fault): void {
    this.fault = fault;
    this.seen = {};
    this.writes = 0;
    this.crashed = false;
  }

  private guard<A extends unknown[], R>(kind: WriteKind, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const f = this.fault;
      if (this.crashed) return undefined as R;
      this.seen[kind] = (this.seen[kind] ?? 0) + 1;
      if (f.kind === 'throttle' && f.on === kind && this.seen[kind] === f.nth) {
        this.injected.throttles += 1;
        throw Object.assign(new Error(`injected throttle on ${kind}`), { name: 'ProvisionedThroughputExceededException' });
      }
      if (f.kind === 'crash' && this.writes >= f.writes) {
        this.crashed = true;
        this.injected.crashes += 1;
        return undefined as R;
      }
      this.writes += 1;
      return fn(...args);
    };
  }

  readonly stores: Stores = {
    profiles: { ...this.inner.profiles, put: this.guard('profile', this.inner.profiles.put), markPendingMerge: this.guard('pending', this.inner.profiles.markPendingMerge), settlePendingMerge: this.guard('pending', this.inner.profiles.settlePendingMerge) },
    graph: {
      ...this.inner.graph,
      putOwner: this.guard('owner', this.inner.graph.putOwner),
      putVisits: this.guard('visits', this.inner.graph.putVisits),
    },
    events: { ...this.inner.events, put: this.guard('events', this.inner.events.put) },
    deadLetters: { ...this.inner.deadLetters, put: this.guard('deadLetters', this.inner.deadLetters.put) },
    offerStats: { ...this.inner.offerStats, add: this.guard('stats', this.inner.offerStats.add) },
    privacy: this.inner.privacy,
    activations: this.inner.activations,
    contacts: this.inner.contacts,
    ledger: this.inner.ledger,
  };
}

/** A point where a scheduler lets the test's concurrent invocations go on, in an order it picks. */
export type Pause = (label: string) => Promise<void>;

const WRITES = new Set(['put', 'markPendingMerge', 'settlePendingMerge', 'putOwner', 'putVisits', 'putLinks', 'add']);

/** What befalls one write: throttled (nothing written), or its answer lost (written, but the caller sees a timeout). */
export type WriteFault = 'throttle' | 'lost' | undefined;

/**
 * The stores as two Lambda invocations at once see DynamoDB: every call (read or write) reaches the
 * store, and its answer comes back, at a moment `pause` picks (a fast-check scheduler), so the calls of
 * concurrent batches interleave in any order; a write is throttled, or its answer lost, as `fault` says.
 * For concurrency tests only: the stores underneath are the same in-memory adapters.
 */
export function interleaved(inner: MemoryStores, pause: Pause, fault: (call: string) => WriteFault): Stores {
  const wrap = <T extends object>(store: T, name: string): T =>
    Object.fromEntries(
      Object.entries(store).map(([method, fn]) => [
        method,
        async (...args: unknown[]) => {
          const call = `${name}.${method}`;
          await pause(`${call} sent`);
          const befalls = WRITES.has(method) ? fault(call) : undefined;
          if (befalls === 'throttle') throw Object.assign(new Error(`injected throttle on ${call}`), { name: 'ThrottlingException' });
          const answer = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          await pause(`${call} answered`);
          if (befalls === 'lost') throw Object.assign(new Error(`injected timeout after ${call}`), { name: 'TimeoutError' });
          return answer;
        },
      ]),
    ) as T;
  return {
    profiles: wrap(inner.profiles, 'profiles'),
    graph: wrap(inner.graph, 'graph'),
    events: wrap(inner.events, 'events'),
    deadLetters: wrap(inner.deadLetters, 'deadLetters'),
    offerStats: wrap(inner.offerStats, 'offerStats'),
    privacy: wrap(inner.privacy, 'privacy'),
    activations: inner.activations,
    contacts: inner.contacts,
    ledger: inner.ledger,
  };
}

/**
 * A gate for the first of some calls: `pass()` holds the first caller until `release()`, and lets
 * every later one through; `reached` settles when the first caller is held.
 */
export function firstCallGate(): { pass: () => Promise<void>; reached: Promise<void>; release: () => void } {
  let release = () => undefined as void;
  const held = new Promise<void>((r) => (release = r));
  let arrive = () => undefined as void;
  const reached = new Promise<void>((r) => (arrive = r));
  let first = true;
  const pass = async () => {
    if (!first) return;
    first = false;
    arrive();
    await held;
  };
  return { pass, reached, release };
}
