import { describe, expect, it } from 'vitest';
import { canRead, isRole, ROLES, rolesReadableBy, rolesThatCanRead } from '../../../src/crypto/roles.js';

describe('role hierarchy', () => {
  it('orders the four BZZZ roles from observer up to admin', () => {
    expect(ROLES).toEqual(['observer', 'backend_developer', 'senior_software_architect', 'admin']);
  });

  it('recognises only the four role names', () => {
    for (const r of ROLES) expect(isRole(r)).toBe(true);
    for (const s of ['Admin', 'architect', 'backend_dev', '', 'root', undefined, 3]) expect(isRole(s)).toBe(false);
  });

  it('matches the encryption hierarchy of architecture.txt', () => {
    // "Can decrypt" lists from the plan, per reader role.
    expect(rolesReadableBy('admin')).toEqual([...ROLES]);
    expect(rolesReadableBy('senior_software_architect')).toEqual(['observer', 'backend_developer', 'senior_software_architect']);
    expect(rolesReadableBy('backend_developer')).toEqual(['observer', 'backend_developer']);
    expect(rolesReadableBy('observer')).toEqual(['observer']);
  });

  it('gives content of a role to that role and every role above it', () => {
    expect(rolesThatCanRead('observer')).toEqual([...ROLES]);
    expect(rolesThatCanRead('senior_software_architect')).toEqual(['senior_software_architect', 'admin']);
    expect(rolesThatCanRead('admin')).toEqual(['admin']);
    for (const reader of ROLES) {
      for (const content of ROLES) expect(rolesThatCanRead(content).includes(reader)).toBe(canRead(reader, content));
    }
  });

  it('never lets a lower role read upwards', () => {
    expect(canRead('observer', 'backend_developer')).toBe(false);
    expect(canRead('backend_developer', 'senior_software_architect')).toBe(false);
    expect(canRead('senior_software_architect', 'admin')).toBe(false);
    expect(canRead('admin', 'observer')).toBe(true);
  });
});
