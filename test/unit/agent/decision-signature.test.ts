import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { memberList } from '../../../src/crypto/membership.js';
import { ContentRejectedError, signDecision, verifyDecision, type Decision } from '../../../src/agent/decision-signature.js';

const enc = (s: string) => new TextEncoder().encode(s);

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ContentRejectedError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('signed decisions', async () => {
  const architectKey = await generateKeyPair('Ed25519');
  const observerKey = await generateKeyPair('Ed25519');
  const strangerKey = await generateKeyPair('Ed25519');
  const architect = peerIdFromPrivateKey(architectKey).toString();
  const observer = peerIdFromPrivateKey(observerKey).toString();
  const members = memberList('t', [
    { name: 'a', peerId: architect, role: 'senior_software_architect' },
    { name: 'o', peerId: observer, role: 'observer' },
  ]);
  const decision = (author: string, over: Partial<Decision> = {}): Decision => ({
    v: 1,
    type: 'architectural',
    role: 'senior_software_architect',
    author,
    createdAt: '2026-01-01T00:00:00.000Z',
    content: { decision: 'x' },
    ...over,
  });

  it('GIVEN a member allowed to publish WHEN it signs THEN readers verify it', async () => {
    const text = await signDecision(decision(architect), architectKey);
    expect(await verifyDecision('blake3:00', enc(text), members)).toMatchObject({ author: architect, type: 'architectural' });
  });

  it('GIVEN forgeries WHEN verified THEN each is refused with its reason', async () => {
    expect(await reason(verifyDecision('a', enc(JSON.stringify(decision(architect))), members))).toBe('unsigned');
    expect(await reason(verifyDecision('a', enc('not json'), members))).toBe('malformed');
    // Signed by a stranger, claiming the architect as author.
    expect(await reason(verifyDecision('a', enc(await signDecision(decision(architect), strangerKey)), members))).toBe('bad_signature');
    // A valid signature by a non-member.
    const stranger = peerIdFromPrivateKey(strangerKey).toString();
    expect(await reason(verifyDecision('a', enc(await signDecision(decision(stranger), strangerKey)), members))).toBe('not_member');
    // A member whose role may not publish the type, or claims a role above its own.
    const byObserver = decision(observer, { type: 'code', role: 'observer' });
    expect(await reason(verifyDecision('a', enc(await signDecision(byObserver, observerKey)), members))).toBe('role_may_not_publish');
    const above = decision(architect, { type: 'code', role: 'admin' });
    expect(await reason(verifyDecision('a', enc(await signDecision(above, architectKey)), members))).toBe('role_may_not_publish');
    // A payload altered after signing.
    const env = JSON.parse(await signDecision(decision(architect), architectKey)) as { payload: string };
    env.payload = env.payload.replace('"x"', '"y"');
    expect(await reason(verifyDecision('a', enc(JSON.stringify(env)), members))).toBe('bad_signature');
  });
});
