// The agent's libp2p node: TCP + Noise + Yamux, identify and ping, a Kademlia DHT under BZZZ's
// own protocol id in server mode, GossipSub with strict signing, the member list enforced by the
// connection gater (closed clusters), and the bootstrap peers kept connected. Everything above it (content routing, blob transfer,
// election transport, share exchange) uses this object, not libp2p's options.
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/clock.js';
import type { BootstrapPeer } from '../config.js';
import { createPeerAllowlist, type PeerAllowlist } from './allowlist.js';
import { BootstrapDialer, type BootstrapPeerStatus } from './bootstrap-dialer.js';
import { RECORD_NAMESPACE, selectRecord, validateRecord } from './records.js';
import { AGENT_TOPICS, DHT_PROTOCOL } from './topics.js';

export interface AgentServices {
  [key: string]: unknown;
  identify: Identify;
  ping: Ping;
  dht: KadDHT;
  pubsub: GossipSub;
}

export type AgentLibp2p = Libp2p<AgentServices>;

export interface P2PNodeInit {
  privateKey: PrivateKey;
  /** Address to listen on (0.0.0.0, 127.0.0.1, ::). */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  bootstrap: readonly BootstrapPeer[];
  /**
   * The peer IDs of the member list: only they may connect, in either direction (a non-member is
   * dropped right after the Noise handshake, before any protocol stream). Null: an open cluster
   * (--insecure-open-cluster), anyone may connect.
   */
  members: readonly string[] | null;
  /** Most connections this agent opens on its own to peers it learns from the DHT. */
  maxAutoDialPeers?: number;
  /** Bootstrap redial backoff: first delay and cap (ms). */
  bootstrapBackoffMs?: { min: number; max: number };
  /** The DHT's first self-query waits this long (libp2p's default ~1 s delays the first lookup). */
  initialQuerySelfIntervalMs?: number;
}

export interface P2PNodeComponents {
  clock: Clock;
  log: Logger;
}

export interface P2PNode {
  readonly peerId: string;
  readonly libp2p: AgentLibp2p;
  readonly allowlist: PeerAllowlist;
  /** On the member list (always true in an open cluster). */
  isMember(peerId: string): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Listen multiaddrs with /p2p/<id>: what others put in their bootstrap list. */
  multiaddrs(): string[];
  connectedPeers(): string[];
  isConnected(peerId: string): boolean;
  /** Replace the allowlist (null: allow all) and close connections to peers no longer allowed. */
  setAllowedPeers(peerIds: Iterable<string> | null): Promise<void>;
  bootstrapStatus(): BootstrapPeerStatus[];
  dhtRoutingTableSize(): number;
}

export async function createP2PNode(init: P2PNodeInit, components: P2PNodeComponents): Promise<P2PNode> {
  const { log, clock } = components;
  const allowlist = createPeerAllowlist(init.members);
  const listenProto = init.host.includes(':') ? 'ip6' : 'ip4';
  const libp2p: AgentLibp2p = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: [`/${listenProto}/${init.host}/tcp/${init.port}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: allowlist.gater,
    services: {
      identify: identify(),
      // The connection monitor pings too: room for a caller's ping beside it.
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4 }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // Inside the cluster every agent serves the DHT; libp2p would otherwise wait for a public
        // address (never seen on a private network or loopback) before leaving client mode.
        clientMode: false,
        // The default mapper drops private addresses, which are the only ones a cluster has.
        peerInfoMapper: passthroughMapper,
        validators: { [RECORD_NAMESPACE]: validateRecord },
        selectors: { [RECORD_NAMESPACE]: selectRecord },
        initialQuerySelfInterval: init.initialQuerySelfIntervalMs ?? 50,
        logPrefix: 'bzzz:dht',
        datastorePrefix: '/bzzz/dht',
        metricsPrefix: 'bzzz_libp2p_dht',
      }),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        // A lone agent (or one whose peers are restarting) still publishes; GossipSub would throw.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Peer scoring guards open networks against spam; here every peer passed the allowlist and
        // signs what it sends. Its behaviour penalty (e.g. IWANT answers late on a busy machine)
        // can push an agent below the publish/graylist thresholds and cut it off from the election
        // and coordination topics; IP colocation penalises agents sharing an address (loopback,
        // NAT). Both weights are off.
        scoreParams: { behaviourPenaltyWeight: 0, IPColocationFactorWeight: 0 },
      }),
    },
  });
  const peerId = libp2p.peerId.toString();

  const dialer = new BootstrapDialer(
    {
      dial: async (address, signal) => {
        const conn = await libp2p.dial(multiaddr(address), { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) });
        return conn.remotePeer.toString();
      },
      isConnected: (id) => libp2p.getConnections(peerIdFromString(id)).length > 0,
      isAllowed: (id) => allowlist.isAllowed(id),
      clock,
      log: log.child({ part: 'bootstrap' }),
    },
    {
      peers: init.bootstrap,
      selfPeerId: peerId,
      minBackoffMs: init.bootstrapBackoffMs?.min,
      maxBackoffMs: init.bootstrapBackoffMs?.max,
    },
  );

  // libp2p no longer dials the peers it discovers: in a cluster of a few agents a full mesh is
  // what keeps GossipSub and the election working when any one agent (a bootstrap peer too) dies.
  const maxAutoDial = init.maxAutoDialPeers ?? 64;
  const onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    const id = evt.detail.id;
    if (id.equals(libp2p.peerId) || !allowlist.isAllowed(id) || libp2p.getConnections(id).length > 0) return;
    if (libp2p.getPeers().length >= maxAutoDial) return;
    libp2p.dial(id, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
      log.debug({ peer: id.toString(), err: (err as Error).message }, 'dial to discovered peer failed');
    });
  };
  const onDisconnect = (evt: CustomEvent<PeerId>): void => dialer.peerDisconnected(evt.detail.toString());
  const onConnect = (evt: CustomEvent<PeerId>): void => log.debug({ peer: evt.detail.toString() }, 'peer connected');

  const node: P2PNode = {
    peerId,
    libp2p,
    allowlist,
    isMember: (id) => allowlist.isAllowed(id),
    async start() {
      libp2p.addEventListener('peer:discovery', onDiscovery);
      libp2p.addEventListener('peer:disconnect', onDisconnect);
      libp2p.addEventListener('peer:connect', onConnect);
      await libp2p.start();
      for (const topic of AGENT_TOPICS) libp2p.services.pubsub.subscribe(topic);
      dialer.start();
      log.info({ peerId, addrs: node.multiaddrs() }, 'p2p node started');
    },
    async stop() {
      dialer.stop();
      libp2p.removeEventListener('peer:discovery', onDiscovery);
      libp2p.removeEventListener('peer:disconnect', onDisconnect);
      libp2p.removeEventListener('peer:connect', onConnect);
      await libp2p.stop();
    },
    multiaddrs: () => libp2p.getMultiaddrs().map(String),
    connectedPeers: () => libp2p.getPeers().map(String),
    isConnected: (id) => libp2p.getConnections(peerIdFromString(id)).length > 0,
    async setAllowedPeers(peerIds) {
      allowlist.set(peerIds);
      const drop = libp2p.getPeers().filter((p) => !allowlist.isAllowed(p));
      await Promise.all(drop.map((p) => libp2p.hangUp(p).catch(() => undefined)));
      // Peers allowed again are dialled now rather than at the next check.
      for (const s of dialer.status())
        if (s.peerId !== undefined && !s.connected && allowlist.isAllowed(s.peerId)) dialer.peerDisconnected(s.peerId);
    },
    bootstrapStatus: () => dialer.status(),
    dhtRoutingTableSize: () => (libp2p.services.dht as KadDHT & { routingTable?: { size: number } }).routingTable?.size ?? 0,
  };
  return node;
}
