// Role crypto shared by the agent and the operator: age role keys with the BZZZ hierarchy, the
// Shamir-split admin key, key files. No I/O beyond key files; no libp2p (the share exchange
// protocol lives in the agent).
export { ROLES, isRole, canRead, rolesThatCanRead, rolesReadableBy, type Role } from './roles.js';
export { AgeIdentity, isAgeRecipient } from './age-identity.js';
export {
  AGE_CHUNK_SIZE,
  AgeDecryptStream,
  AgeDecryptor,
  AgeEncryptStream,
  AgeEncryptor,
  ageDecrypt,
  ageEncrypt,
  agePayloadSize,
  ageRecipientOf,
  generateAgeIdentity,
  parseAgeIdentity,
  parseAgeRecipient,
  type AgeStreamCounts,
} from './age-stream.js';
export {
  apiCallerList,
  generateApiToken,
  parseApiCallers,
  serializeApiCallers,
  tokenSha256,
  type ApiCaller,
  type ApiCallerEntry,
  type ApiCallerList,
} from './api-callers.js';
export { encryptForRole, encryptToRecipient, decryptWithRole, type RolePublicKeys } from './role-crypto.js';
export {
  splitAdminKey,
  combineAdminKey,
  findAdminKey,
  serializeShare,
  parseShare,
  validateSplitParameters,
  SHARE_FORMAT_VERSION,
  type AdminKeyShare,
} from './shamir.js';
export {
  generateKeys,
  loadRoleKeys,
  loadShare,
  roleKeyPath,
  rolePubPath,
  sharePath,
  type GenerateKeysOptions,
  type GeneratedKeys,
  type LoadedRoleKeys,
  type WrittenKeyFile,
} from './key-files.js';
export {
  AccessDeniedError,
  CorruptCiphertextError,
  InvalidKeyError,
  KeyFilesExistError,
  InsufficientSharesError,
  ShareMismatchError,
  ShareRequestRefusedError,
  AdminKeyCollectionError,
  type ShareOutcome,
} from './errors.js';
