// A minimal libp2p node for election tests and benchmarks on 127.0.0.1: TCP + Noise + Yamux,
// identify and ping, GossipSub with strict signing. No mDNS: peers are dialled explicitly.
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';

export type ElectionTestNode = Libp2p<{ identify: Identify; ping: Ping; pubsub: GossipSub }>;

export async function createElectionTestNode(opts: { privateKey?: PrivateKey; port?: number } = {}): Promise<ElectionTestNode> {
  return createLibp2p({
    ...(opts.privateKey === undefined ? {} : { privateKey: opts.privateKey }),
    addresses: { listen: [`/ip4/127.0.0.1/tcp/${opts.port ?? 0}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign', allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  });
}

/** Dials every pair once (a full mesh, as the agents keep in a small cluster). */
export async function connectAll(nodes: readonly ElectionTestNode[]): Promise<void> {
  const dials: Promise<unknown>[] = [];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) dials.push(nodes[i].dial(nodes[j].getMultiaddrs()[0]));
  }
  await Promise.all(dials);
}
