// The agent's crypto: age role keys with the BZZZ hierarchy, the Shamir-split admin key, key
// files, and the admin share exchange over libp2p.
export { ROLES, isRole, canRead, rolesThatCanRead, rolesReadableBy, type Role } from './roles.js';
export { AgeIdentity, isAgeRecipient } from './age-identity.js';
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
  ADMIN_SHARE_PROTOCOL,
  createAdminShareService,
  requestShare,
  collectAdminKey,
  type AdminShareService,
  type AdminShareServiceComponents,
  type AdminShareServiceInit,
  type CollectAdminKeyOptions,
  type RequestShareOptions,
  type SharePeer,
} from './share-exchange.js';
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
