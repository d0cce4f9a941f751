// An in-process network for election simulations. Each node gets an ElectionTransport whose
// deliveries are virtual-clock events with a random delay; messages can be lost, nodes can be
// down, and partitions split the nodes into groups that cannot hear each other. Every message goes
// through the real wire codec, and `from` is set by the network (like GossipSub's signature check),
// never taken from the payload.
import {
  decodeElectionMessage,
  encodeElectionMessage,
  type ElectionMessage,
  type ElectionTransport,
} from '../../../../../src/agent/election/index.js';
import type { EventClock } from './event-clock.js';

type Handler = (from: string, msg: ElectionMessage) => void;

interface SimNode {
  up: boolean;
  group: number;
  handlers: Set<Handler>;
}

export interface SimNetworkOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
  lossRate?: number;
  /** Give transports a `send` for direct answers (otherwise answers are broadcast, as on GossipSub). */
  direct?: boolean;
}

export class SimNetwork {
  private readonly nodes = new Map<string, SimNode>();
  minDelayMs: number;
  maxDelayMs: number;
  lossRate: number;
  readonly direct: boolean;
  /** One-way links that lose everything ("from>to"). */
  private readonly blocked = new Set<string>();
  /** Fixed delays for some one-way links ("from>to" → ms), overriding the random delay. */
  private readonly linkDelays = new Map<string, number>();
  /** Count of messages handed to the network, by type. */
  readonly sent = new Map<string, number>();

  constructor(
    private readonly clock: EventClock,
    private readonly random: () => number,
    opts: SimNetworkOptions = {},
  ) {
    this.minDelayMs = opts.minDelayMs ?? 1;
    this.maxDelayMs = opts.maxDelayMs ?? 5;
    this.lossRate = opts.lossRate ?? 0;
    this.direct = opts.direct ?? false;
  }

  transport(id: string): ElectionTransport {
    const node = this.node(id);
    const t: ElectionTransport = {
      selfId: id,
      broadcast: async (msg) => {
        for (const to of this.nodes.keys()) if (to !== id) this.deliver(id, to, msg);
      },
      onMessage: (handler) => {
        node.handlers.add(handler);
        return () => node.handlers.delete(handler);
      },
      peers: () => [...this.nodes.keys()].filter((p) => p !== id && this.reachable(id, p)),
    };
    if (this.direct) t.send = async (to, msg) => this.deliver(id, to, msg);
    return t;
  }

  setUp(id: string, up: boolean): void {
    this.node(id).up = up;
  }

  isUp(id: string): boolean {
    return this.node(id).up;
  }

  /** Splits the nodes: each listed group hears only itself; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    for (const n of this.nodes.values()) n.group = groups.length;
    groups.forEach((g, i) => g.forEach((id) => (this.node(id).group = i)));
  }

  heal(): void {
    for (const n of this.nodes.values()) n.group = 0;
    this.blocked.clear();
    this.linkDelays.clear();
  }

  /** Messages from `from` to `to` are lost (the other direction still works). */
  block(from: string, to: string): void {
    this.blocked.add(`${from}>${to}`);
  }

  setLinkDelay(from: string, to: string, ms: number): void {
    this.linkDelays.set(`${from}>${to}`, ms);
  }

  reachable(a: string, b: string): boolean {
    const na = this.node(a);
    const nb = this.node(b);
    return na.up && nb.up && na.group === nb.group;
  }

  private deliver(from: string, to: string, msg: ElectionMessage): void {
    this.sent.set(msg.type, (this.sent.get(msg.type) ?? 0) + 1);
    if (!this.reachable(from, to) || this.blocked.has(`${from}>${to}`) || this.random() < this.lossRate) return;
    const bytes = encodeElectionMessage(msg);
    const delay = this.linkDelays.get(`${from}>${to}`) ?? this.minDelayMs + this.random() * (this.maxDelayMs - this.minDelayMs);
    this.clock.setTimeout(() => {
      // A partition or crash while the message is in flight loses it.
      if (!this.reachable(from, to)) return;
      const decoded = decodeElectionMessage(bytes);
      if (decoded === null) throw new Error(`simulated network: ${msg.type} from ${from} did not survive the wire codec`);
      for (const h of [...this.node(to).handlers]) h(from, decoded);
    }, delay);
  }

  private node(id: string): SimNode {
    let n = this.nodes.get(id);
    if (n === undefined) {
      n = { up: true, group: 0, handlers: new Set() };
      this.nodes.set(id, n);
    }
    return n;
  }
}
