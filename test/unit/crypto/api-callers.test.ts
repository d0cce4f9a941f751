import { describe, expect, it } from 'vitest';
import { generateApiToken, MAX_CALLERS_BYTES, parseApiCallers, serializeApiCallers, tokenSha256 } from '../../../src/crypto/api-callers.js';

describe('API callers file', () => {
  it('GIVEN generated tokens WHEN the file is written and parsed THEN each token authenticates as its caller, others do not', () => {
    const a = generateApiToken();
    const b = generateApiToken();
    expect(a.token).toMatch(/^bzzz_[A-Za-z0-9_-]{43}$/);
    expect(a.tokenSha256).toBe(tokenSha256(a.token));
    const text = serializeApiCallers([
      { name: 'ci', role: 'backend_developer', tokenSha256: a.tokenSha256 },
      { name: 'ops', role: 'admin', tokenSha256: b.tokenSha256 },
    ]);
    expect(text).not.toContain(a.token);
    const list = parseApiCallers(text, 'callers.json');
    expect(list.authenticate(a.token)).toEqual({ name: 'ci', role: 'backend_developer' });
    expect(list.authenticate(b.token)).toEqual({ name: 'ops', role: 'admin' });
    expect(list.authenticate(`${a.token}x`)).toBeUndefined();
    expect(list.authenticate('')).toBeUndefined();
    expect(list.authenticate(a.tokenSha256)).toBeUndefined(); // the hash is not a token
    expect(list.authenticate('x'.repeat(10_000))).toBeUndefined();
  });

  it('GIVEN broken files WHEN parsed THEN every problem is named with its field, and no hash or token is quoted', () => {
    const h = tokenSha256('t');
    const bad = JSON.stringify({
      version: 1,
      callers: [
        { name: 'a', role: 'root', tokenSha256: h },
        { name: 'b', role: 'admin', tokenSha256: 'ABC' },
        { name: 'c', role: 'admin', tokenSha256: h },
        { name: 'a', role: 'observer', tokenSha256: tokenSha256('u') },
        { name: 'd', role: 'observer', tokenSha256: tokenSha256('v'), token: 'plain-secret' },
        { name: '' },
      ],
    });
    let message = '';
    try {
      parseApiCallers(bad, 'callers.json');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/callers\.json: API callers file is not valid/);
    expect(message).toMatch(/callers\[0\]\.role \(a\): "root" is not one of/);
    expect(message).toMatch(/callers\[1\]\.tokenSha256 \(b\): expected 64 lowercase hex/);
    expect(message).toMatch(/callers\[2\]\.tokenSha256 \(c\): the same token is given to two callers/);
    expect(message).toMatch(/callers\[3\]\.name: a is listed twice/);
    expect(message).toMatch(/callers\[4\]\.token \(d\): the callers file holds only tokenSha256/);
    expect(message).toMatch(/callers\[5\]\.name/);
    expect(message).not.toContain(h);
    expect(message).not.toContain('plain-secret');
    expect(() => parseApiCallers('{', 'f')).toThrow(/f: not JSON/);
    expect(() => parseApiCallers('[]', 'f')).toThrow(/expected an object/);
    expect(() => parseApiCallers(JSON.stringify({ version: 2, callers: [] }), 'f')).toThrow(/version: 2 is not 1/);
    expect(() => parseApiCallers(' '.repeat(MAX_CALLERS_BYTES + 1), 'f')).toThrow(/over 262144 bytes/);
  });
});
