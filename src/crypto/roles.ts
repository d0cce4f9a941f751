// The BZZZ role hierarchy (architecture.txt, "Encryption Hierarchy"): each role reads its own
// content and the content of every role below it. Pure, no I/O.

/** Lowest to highest. The order is the hierarchy: a role reads every role at or below its index. */
export const ROLES = ['observer', 'backend_developer', 'senior_software_architect', 'admin'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}

function rank(role: Role): number {
  return ROLES.indexOf(role);
}

/** May an agent acting as `readerRole` read content authored under `contentRole`? */
export function canRead(readerRole: Role, contentRole: Role): boolean {
  return rank(readerRole) >= rank(contentRole);
}

/**
 * The roles whose identities can read content of `contentRole`: itself and every role above it,
 * lowest first. Content is encrypted to the recipients of exactly these roles, so an agent needs
 * only its own role's identity to read all it may read.
 */
export function rolesThatCanRead(contentRole: Role): Role[] {
  return ROLES.filter((r) => canRead(r, contentRole));
}

/** The roles whose content `readerRole` may read: itself and every role below it, lowest first. */
export function rolesReadableBy(readerRole: Role): Role[] {
  return ROLES.filter((c) => canRead(readerRole, c));
}
