// Five real libp2p nodes on 127.0.0.1 (TCP + Noise + Yamux + identify): share holders answer only
// the elected admin, which rebuilds the admin key from their shares over the network.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminKeyCollectionError,
  AgeIdentity,
  decryptWithRole,
  encryptForRole,
  InsufficientSharesError,
  serializeShare,
  ShareRequestRefusedError,
  splitAdminKey,
  type AdminKeyShare,
  type RolePublicKeys,
} from '../../../src/crypto/index.js';
import {
  ADMIN_SHARE_PROTOCOL,
  collectAdminKey,
  createAdminShareService,
  requestShare,
  type AdminShareService,
} from '../../../src/agent/share-exchange.js';
import { silentLogger } from '../../../src/util/log.js';

async function node(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
}

const addrs = (n: Libp2p) => n.getMultiaddrs();

let nodes: Libp2p[];
let services: AdminShareService[];
let admin: AgeIdentity;
let shares: AdminKeyShare[];
let publicKeys: RolePublicKeys;
/** The election's answer, as the share holders see it: who is the admin now. */
let electedAdmin: string;

beforeAll(async () => {
  admin = await AgeIdentity.generate();
  shares = await splitAdminKey(admin, 3, 5);
  const others = await Promise.all([0, 1, 2].map(() => AgeIdentity.generate()));
  publicKeys = {
    observer: others[0]!.recipient,
    backend_developer: others[1]!.recipient,
    senior_software_architect: others[2]!.recipient,
    admin: admin.recipient,
  };
  nodes = await Promise.all([0, 1, 2, 3, 4].map(() => node()));
  electedAdmin = nodes[0]!.peerId.toString();
  // Node i holds share i+1.
  services = nodes.map((n, i) =>
    createAdminShareService({
      libp2p: n,
      share: shares[i]!,
      authorizeRequester: (peer) => (peer === electedAdmin ? null : 'not the elected admin'),
      log: silentLogger(),
    }),
  );
  await Promise.all(services.map((s) => s.start()));
});

afterAll(async () => {
  await Promise.all((nodes ?? []).map((n) => n.stop()));
});

describe('admin key share exchange over libp2p', () => {
  it("the elected admin rebuilds the admin key from 3 peers' shares and reads admin-only content", async () => {
    const ciphertext = await encryptForRole('admin-only decision', 'admin', publicKeys);
    const identity = await collectAdminKey({
      libp2p: nodes[0]!,
      peers: [addrs(nodes[1]!), addrs(nodes[2]!), addrs(nodes[3]!)],
      adminRecipient: admin.recipient,
      threshold: 3,
      signal: AbortSignal.timeout(20_000),
    });
    expect(identity.recipient).toBe(admin.recipient);
    expect(new TextDecoder().decode(await decryptWithRole(ciphertext, identity))).toBe('admin-only decision');
  });

  it('uses its own share plus two from peers', async () => {
    const identity = await collectAdminKey({
      libp2p: nodes[0]!,
      peers: [addrs(nodes[2]!), addrs(nodes[4]!)],
      ownShare: shares[0],
      adminRecipient: admin.recipient,
      threshold: 3,
      signal: AbortSignal.timeout(20_000),
    });
    expect(identity.recipient).toBe(admin.recipient);
  });

  it('follows the election: a peer that is not the elected admin is refused by every holder', async () => {
    const replyTo = await AgeIdentity.generate();
    const err = await requestShare(nodes[4]!, addrs(nodes[1]!), { adminRecipient: admin.recipient, replyTo }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShareRequestRefusedError);
    expect((err as Error).message).toMatch(/not-authorized/);

    const collected = await collectAdminKey({
      libp2p: nodes[4]!,
      peers: [1, 2, 3].map((i) => addrs(nodes[i]!)),
      ownShare: shares[4],
      adminRecipient: admin.recipient,
      threshold: 3,
      signal: AbortSignal.timeout(20_000),
    }).catch((e: unknown) => e);
    expect(collected).toBeInstanceOf(AdminKeyCollectionError);
    expect((collected as AdminKeyCollectionError).outcomes.map((o) => o.result)).toEqual(['refused', 'refused', 'refused']);

    // Once the election makes node 4 the admin, the same holders answer it.
    electedAdmin = nodes[4]!.peerId.toString();
    try {
      const identity = await collectAdminKey({
        libp2p: nodes[4]!,
        peers: [1, 2].map((i) => addrs(nodes[i]!)),
        ownShare: shares[4],
        adminRecipient: admin.recipient,
        threshold: 3,
        signal: AbortSignal.timeout(20_000),
      });
      expect(identity.recipient).toBe(admin.recipient);
      await expect(requestShare(nodes[0]!, addrs(nodes[1]!), { adminRecipient: admin.recipient, replyTo })).rejects.toBeInstanceOf(
        ShareRequestRefusedError,
      );
    } finally {
      electedAdmin = nodes[0]!.peerId.toString();
    }
  });

  it("never puts a share on the wire in the clear: the answer opens only with the requester's ephemeral key", async () => {
    const ephemeral = await AgeIdentity.generate();
    const stream = await nodes[0]!.dialProtocol(addrs(nodes[2]!), ADMIN_SHARE_PROTOCOL);
    stream.send(new TextEncoder().encode(JSON.stringify({ v: 1, adminRecipient: admin.recipient, replyTo: ephemeral.recipient })));
    await stream.close();
    const chunks: Uint8Array[] = [];
    for await (const c of stream) chunks.push(c.subarray());
    const wire = Buffer.concat(chunks).toString('utf8');
    const shareB64 = Buffer.from(shares[2]!.share).toString('base64');
    expect(wire).not.toContain(shareB64);
    expect(wire).not.toContain(serializeShare(shares[2]!).slice(0, 40));
    const sealed = new Uint8Array(Buffer.from((JSON.parse(wire) as { sealedShare: string }).sealedShare, 'base64'));
    await expect(decryptWithRole(sealed, await AgeIdentity.generate())).rejects.toThrow(/may not read/);
    expect(new TextDecoder().decode(await decryptWithRole(sealed, ephemeral))).toContain(shareB64);
  });

  it('refuses a request for another admin key', async () => {
    const stranger = await AgeIdentity.generate();
    await expect(
      requestShare(nodes[0]!, addrs(nodes[1]!), { adminRecipient: stranger.recipient, replyTo: await AgeIdentity.generate() }),
    ).rejects.toThrow(/wrong-admin-key/);
  });

  it('ignores a forged share and still rebuilds from the valid ones', async () => {
    const forger = await node();
    const forged: AdminKeyShare = { ...shares[1]!, share: new Uint8Array(shares[1]!.share.byteLength).fill(42) };
    const svc = createAdminShareService({ libp2p: forger, share: forged, authorizeRequester: () => null, log: silentLogger() });
    await svc.start();
    try {
      const identity = await collectAdminKey({
        libp2p: nodes[0]!,
        peers: [addrs(forger), addrs(nodes[1]!), addrs(nodes[2]!), addrs(nodes[3]!)],
        adminRecipient: admin.recipient,
        threshold: 3,
        signal: AbortSignal.timeout(20_000),
      });
      expect(identity.recipient).toBe(admin.recipient);
    } finally {
      await forger.stop();
    }
  });

  it('gives up with InsufficientSharesError when a holder never answers before the signal aborts', async () => {
    const silent = await node();
    await silent.handle(ADMIN_SHARE_PROTOCOL, () => {
      // accepts the stream and never answers
    });
    try {
      const signal = AbortSignal.timeout(1_500);
      const err = await collectAdminKey({
        libp2p: nodes[0]!,
        peers: [addrs(nodes[1]!), addrs(nodes[2]!), addrs(silent)],
        adminRecipient: admin.recipient,
        threshold: 3,
        signal,
      }).catch((e: unknown) => e);
      expect(signal.aborted).toBe(true);
      expect(err).toBeInstanceOf(InsufficientSharesError);
      expect((err as AdminKeyCollectionError).outcomes.map((o) => o.result)).toEqual(['received', 'received', 'pending']);
      expect((err as Error).message).toMatch(/2 usable share\(s\) of the 3 needed/);
    } finally {
      await silent.stop();
    }
  });

  it('fails with InsufficientSharesError when only 2 holders are reachable', async () => {
    await nodes[3]!.stop();
    await nodes[4]!.stop();
    const signal = AbortSignal.timeout(20_000);
    const err = await collectAdminKey({
      libp2p: nodes[0]!,
      peers: [1, 2, 3, 4].map((i) => addrs(nodes[i]!)),
      adminRecipient: admin.recipient,
      threshold: 3,
      signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientSharesError);
    const outcomes = (err as AdminKeyCollectionError).outcomes;
    expect(outcomes.map((o) => o.result)).toEqual(['received', 'received', 'failed', 'failed']);
    expect(signal.aborted).toBe(false); // every holder answered or was unreachable: no need to wait
    expect((err as Error).message).not.toMatch(/AGE-SECRET-KEY/);
  });
});
