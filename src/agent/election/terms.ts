// Bounds on election terms, shared by the wire parser, the election and the vote file.
//
// MAX_TERM: a term is a counter that goes up by one per election. Half of Number.MAX_SAFE_INTEGER
// is still ~4.5e15 elections (a million years at one per second), and leaves room for `term + 1`
// and `term + MAX_TERM_STEP` to stay exact integers. Anything above it is forged or corrupt, and is
// refused by the parser and by the vote store BEFORE it is persisted: a node can never write a term
// it would refuse to read back on restart.
//
// MAX_TERM_STEP: how far above its own term a node accepts a term it cannot verify. With pre-vote,
// a term rises only when a majority took part, so connected members differ by a term or two; a
// node that lagged further (it was down through several elections) catches up from a message that
// carries a proof of election (signed votes of a majority, proof.ts): the admin's heartbeat carries
// the proof of its own term, a candidate's vote request the newest proof it knows. Unproven jumps
// beyond the step are ignored, so one forged message (even from a member whose key leaked) cannot
// move the term to an absurd value in one go, only MAX_TERM_STEP at a time.
export const MAX_TERM = Math.floor(Number.MAX_SAFE_INTEGER / 2);
export const MAX_TERM_STEP = 16;

/** A term as it may appear on the wire or on disk: a whole number in [0, MAX_TERM]. */
export function isTerm(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= MAX_TERM;
}
