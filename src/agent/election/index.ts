// The agent's admin election: public API. See election.ts for the protocol and its guarantees.
export { createElection, ELECTION_STATE_NUMBER } from './election.js';
export type {
  AdminChangedEvent,
  Election,
  ElectionInit,
  ElectionClock,
  ElectionEvents,
  ElectionState,
  ElectionStatus,
  ElectionTransport,
  PeerView,
  StateChangedEvent,
  StepDownOptions,
  StepDownResult,
} from './types.js';
export {
  ELECTION_TOPIC,
  MAX_MESSAGE_BYTES,
  decodeElectionMessage,
  encodeElectionMessage,
  parseElectionMessage,
  type ElectionMessage,
  type ElectionMessageType,
} from './messages.js';
export {
  computeScore,
  DEFAULT_SCORE_SETTINGS,
  systemScoreProvider,
  type ScoreInputs,
  type ScoreProvider,
  type ScoreSettings,
  type ScoreWeights,
} from './score.js';
export { failoverBoundMs, stickyMs, electionTimeoutMs, type ElectionTimingSettings } from './timing.js';
export {
  ElectionStateError,
  fileVoteStore,
  isPersistedVote,
  memoryVoteStore,
  VOTE_FILE,
  type PersistedVote,
  type VoteStore,
} from './vote-store.js';
export { MAX_TERM, MAX_TERM_STEP, isTerm } from './terms.js';
export {
  MAX_PROOF_VOTES,
  PROOF_VERSION,
  parseElectionProof,
  verifyElectionProof,
  voteStatement,
  type ElectionProof,
  type ProofExpectation,
  type ProofVerdict,
  type SignedVote,
  type VoteVerifier,
} from './proof.js';
export { createBallots, type Ballots } from './ballots.js';
export { MAX_PEERS, MAX_STATUS_PEERS } from './peer-table.js';
export { monotonicClock } from '../../util/clock.js';
export { ELECTION_PROTOCOL, type ElectionDirectNode } from './direct-channel.js';
export {
  createGossipsubElectionTransport,
  type ElectionPubSub,
  type GossipsubElectionTransport,
  type GossipsubElectionTransportInit,
} from './gossipsub-transport.js';
