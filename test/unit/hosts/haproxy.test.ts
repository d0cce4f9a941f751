// HAProxy's runtime API: `show servers state` parsed (format 1), the switch's and the weighing's
// commands in make-before-break order, the weights of a share, names and shares validated, answers
// checked. The real HAProxy is in test/integration/hosts.
import { describe, expect, it } from 'vitest';
import {
  HaproxyError,
  HaproxySwitch,
  adminStateName,
  checkHaproxyName,
  checkSetAnswer,
  checkV2Percent,
  haproxyView,
  parseServersState,
  roundShare,
  shareOf,
  switchCommands,
  weighCommands,
  weightsFor,
} from '../../../src/hosts/haproxy.js';
import { InvalidInputError } from '../../../src/util/errors.js';

// As HAProxy 2.6 prints it: v1a up and ready, v1b in forced maint, v2a up with a passing check, v2b drained.
const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 bzzz 1 v1a 10.0.0.1 2 0 100 100 52 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 bzzz 2 v1b 10.0.0.2 0 1 100 100 10 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 bzzz 3 v2a 10.0.1.1 2 0 50 100 52 6 3 4 6 0 0 0 - 8080 - 0 0 - - 0
3 bzzz 4 v2b 10.0.1.2 2 8 100 100 52 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0

`;

describe('parseServersState', () => {
  it('reads each server', () => {
    const s = parseServersState(STATE);
    expect(s.map((x) => [x.server, x.address, x.opState, adminStateName(x.adminState), x.userWeight])).toEqual([
      ['v1a', '10.0.0.1', 2, 'ready', 100],
      ['v1b', '10.0.0.2', 0, 'maint', 100],
      ['v2a', '10.0.1.1', 2, 'ready', 50],
      ['v2b', '10.0.1.2', 2, 'drain', 100],
    ]);
  });

  it('counts a server `disabled` in the configuration and set ready at runtime (admin state 0x04 left) as in service', () => {
    expect(adminStateName(0x04)).toBe('ready');
    expect(adminStateName(0x04 | 0x01)).toBe('maint');
    expect(adminStateName(0x04 | 0x08)).toBe('drain');
    expect(adminStateName(0x20)).toBe('maint');
  });

  it('refuses an answer that is not format 1 (an error message, an unknown command)', () => {
    expect(() => parseServersState("Can't find backend.\n")).toThrow(HaproxyError);
    expect(() => parseServersState('1\n3 bzzz 1 v1a\n')).toThrow(/unreadable/);
    expect(() => parseServersState('1\n3 bzzz x v1a 10.0.0.1 2 0 100 100 52 1 0 0 0 0 0 0 - 8080\n')).toThrow(/column 3/);
  });
});

describe('haproxyView', () => {
  it('says which side takes traffic: up, ready and weight above 0', () => {
    const view = haproxyView(parseServersState(STATE), ['v1a', 'v1b'], ['v2a', 'v2b']);
    expect(view.serving).toBe('both');
    expect(view.servers).toEqual([
      { name: 'v1a', side: 'v1', state: 'ready', weight: 100 },
      { name: 'v1b', side: 'v1', state: 'maint', weight: 100 },
      { name: 'v2a', side: 'v2', state: 'ready', weight: 50, check: 'passed' },
      { name: 'v2b', side: 'v2', state: 'drain', weight: 100 },
    ]);
    const onlyV2 = parseServersState(STATE.replace('3 bzzz 1 v1a 10.0.0.1 2 0', '3 bzzz 1 v1a 10.0.0.1 2 1'));
    expect(haproxyView(onlyV2, ['v1a', 'v1b'], ['v2a', 'v2b']).serving).toBe('v2');
    expect(haproxyView(onlyV2, ['v1a', 'v1b'], []).serving).toBe('none');
  });
});

describe('switchCommands', () => {
  it('puts the side in service with its weight first, then the other side in maintenance', () => {
    expect(switchCommands({ backend: 'bzzz', v1Servers: ['v1a', 'v1b'], v2Servers: ['v2a'], weight: 100 }, 'v1')).toEqual({
      make: ['set server bzzz/v1a state ready', 'set weight bzzz/v1a 100', 'set server bzzz/v1b state ready', 'set weight bzzz/v1b 100'],
      brk: ['set server bzzz/v2a state maint'],
    });
    expect(switchCommands({ backend: 'bzzz', v1Servers: ['v1a'], v2Servers: ['v2a'], weight: 7 }, 'v2')).toEqual({
      make: ['set server bzzz/v2a state ready', 'set weight bzzz/v2a 7'],
      brk: ['set server bzzz/v1a state maint'],
    });
  });
});

describe('names and answers', () => {
  it.each(['bzzz;shutdown sessions', 'a b', 'a/b', 'x\nset', ''])('refuses the name %j', (n) => {
    expect(() => checkHaproxyName(n, 'server')).toThrow(InvalidInputError);
    expect(
      () =>
        new HaproxySwitch({
          target: { name: 'proxy', address: '127.0.0.1', port: 22, user: 'root', hostKey: 'SHA256:x', timeoutMs: 1000 },
          privateKey: '',
          socket: '/run/haproxy/admin.sock',
          backend: 'bzzz',
          v1Servers: [n],
          v2Servers: ['v2a'],
          weight: 100,
        }),
    ).toThrow(InvalidInputError);
  });

  it('takes an empty answer as success and any text as HAProxy’s refusal, naming the command', () => {
    expect(() => checkSetAnswer('set server bzzz/v1a state ready', '\n')).not.toThrow();
    expect(() => checkSetAnswer('set server bzzz/nope state ready', 'No such server.\n\n')).toThrow(
      'HAProxy refused `set server bzzz/nope state ready`: No such server.',
    );
    expect(() => checkSetAnswer('set weight bzzz/v1a 100', 'Permission denied\n')).toThrow(HaproxyError);
  });
});

describe('weightsFor', () => {
  // n1 v1 servers, n2 v2 servers, the share asked → per-server weights and the share they give.
  it.each([
    [1, 1, 0, 100, 0, 0],
    [1, 1, 10, 99, 11, 10],
    [1, 1, 50, 100, 100, 50],
    [1, 1, 100, 0, 100, 100],
    [3, 1, 0, 100, 0, 0],
    [3, 1, 10, 99, 33, 10],
    [3, 1, 50, 33, 99, 50],
    [3, 1, 100, 0, 100, 100],
    [1, 3, 10, 108, 4, 10],
    [1, 3, 50, 99, 33, 50],
    [3, 1, 1, 99, 3, 1],
    // HAProxy's range (0–256) is the limit: 3 v1 servers at 1 leave v2 at most 256 / 259.
    [3, 1, 99, 1, 256, 98.8],
  ])('%i v1 and %i v2 servers at %i %% → v1 %i, v2 %i (v2 gets %d %%)', (n1, n2, p, w1, w2, share) => {
    expect(weightsFor(n1, n2, p)).toEqual({ v1: w1, v2: w2 });
    expect(roundShare(shareOf(n1 * w1, n2 * w2)!)).toBe(share);
  });

  it('keeps the configured weight at 0 % and 100 %, and stays in 1–256 between', () => {
    expect(weightsFor(2, 2, 0, 7)).toEqual({ v1: 7, v2: 0 });
    expect(weightsFor(2, 2, 100, 256)).toEqual({ v1: 0, v2: 256 });
    for (const [n1, n2] of [
      [1, 1],
      [3, 1],
      [1, 3],
      [5, 7],
      [64, 64],
    ]) {
      for (let p = 1; p < 100; p++) {
        const w = weightsFor(n1, n2, p);
        expect(w.v1).toBeGreaterThanOrEqual(1);
        expect(w.v2).toBeGreaterThanOrEqual(1);
        expect(Math.max(w.v1, w.v2)).toBeLessThanOrEqual(256);
        // Equal numbers of servers on both sides always get within half a point.
        if (n1 === n2) expect(Math.abs(shareOf(n1 * w.v1, n2 * w.v2)! - p)).toBeLessThan(0.5);
      }
    }
  });

  it.each([-1, 101, 10.5, Number.NaN, Number.POSITIVE_INFINITY, '50' as unknown as number])('refuses the share %j, naming it', (p) => {
    expect(() => weightsFor(1, 1, p)).toThrow(InvalidInputError);
    expect(() => checkV2Percent(p)).toThrow(`the v2 share ${typeof p === 'number' ? String(p) : '"50"'} is not an integer percentage`);
  });

  it('refuses a side without servers', () => {
    expect(() => weightsFor(0, 1, 10)).toThrow(/at least one v1 server/);
  });
});

describe('weighCommands', () => {
  const o = { backend: 'bzzz', v1Servers: ['v1a', 'v1b', 'v1c'], v2Servers: ['v2a'], weight: 100 };
  // v1 serving alone (after a rollback): v1 ready at 100, v2 in maintenance.
  const v1Only = parseServersState(`1
# be_id be_name srv_id srv_name ...
3 bzzz 1 v1a 10.0.0.1 2 0 100 100 52 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 bzzz 2 v1b 10.0.0.2 2 0 100 100 52 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 bzzz 3 v1c 10.0.0.3 2 0 100 100 52 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 bzzz 4 v2a 10.0.1.1 0 1 100 100 52 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
`);

  it('raising v2’s share: v2’s weights and state first, then v1’s', () => {
    expect(weighCommands(o, 10, v1Only, 0)).toEqual({
      first: 'v2',
      weights: { v1: 99, v2: 33 },
      make: ['set weight bzzz/v2a 33', 'set server bzzz/v2a state ready'],
      after: [
        'set weight bzzz/v1a 99',
        'set server bzzz/v1a state ready',
        'set weight bzzz/v1b 99',
        'set server bzzz/v1b state ready',
        'set weight bzzz/v1c 99',
        'set server bzzz/v1c state ready',
      ],
    });
    // 100 %: v1 at weight 0 but in service, so walking back is instant.
    const full = weighCommands(o, 100, v1Only, 50);
    expect(full.first).toBe('v2');
    expect(full.make).toEqual(['set weight bzzz/v2a 100', 'set server bzzz/v2a state ready']);
    expect(full.after).toContain('set weight bzzz/v1a 0');
    expect(full.after).toContain('set server bzzz/v1a state ready');
  });

  it('lowering it: v1’s first, then v2’s', () => {
    const back = weighCommands(o, 10, v1Only, 50);
    expect(back.first).toBe('v1');
    expect(back.make).toEqual([
      'set weight bzzz/v1a 99',
      'set server bzzz/v1a state ready',
      'set weight bzzz/v1b 99',
      'set server bzzz/v1b state ready',
      'set weight bzzz/v1c 99',
      'set server bzzz/v1c state ready',
    ]);
    expect(back.after).toEqual(['set weight bzzz/v2a 33', 'set server bzzz/v2a state ready']);
    // At 0 %, v2's servers in service (v2a ready, v2b drained) keep weight 0 and are ready.
    const zero = weighCommands({ ...o, v1Servers: ['v1a', 'v1b'], v2Servers: ['v2a', 'v2b'] }, 0, parseServersState(STATE), 33.3);
    expect(zero.first).toBe('v1');
    expect(zero.after).toEqual([
      'set weight bzzz/v2a 0',
      'set server bzzz/v2a state ready',
      'set weight bzzz/v2b 0',
      'set server bzzz/v2b state ready',
    ]);
  });

  it('leaves a server of the side at 0 % in maintenance when it is there (never put in service)', () => {
    const zero = weighCommands(o, 0, v1Only, 0);
    expect(zero.first).toBe('v1');
    expect(zero.after).toEqual([]);
    expect(zero.make).toEqual([
      'set weight bzzz/v1a 100',
      'set server bzzz/v1a state ready',
      'set weight bzzz/v1b 100',
      'set server bzzz/v1b state ready',
      'set weight bzzz/v1c 100',
      'set server bzzz/v1c state ready',
    ]);
  });

  it('at the share it already has: the side with a share first (v2, or v1 at 0 %)', () => {
    expect(weighCommands(o, 50, v1Only, 50).first).toBe('v2');
    expect(weighCommands(o, 0, v1Only, 0).first).toBe('v1');
    expect(weighCommands(o, 30, v1Only, undefined).first).toBe('v2');
  });
});

describe('haproxyView v2Percent', () => {
  it('is the share of the weights of the servers taking traffic (ready, up, weight above 0)', () => {
    // v1a 100 (up, ready), v1b in maint, v2a 50 (up, ready), v2b drained: 50 / 150.
    expect(haproxyView(parseServersState(STATE), ['v1a', 'v1b'], ['v2a', 'v2b']).v2Percent).toBe(33.3);
    expect(haproxyView(parseServersState(STATE), ['v1a', 'v1b'], []).v2Percent).toBe(0);
    expect(haproxyView(parseServersState(STATE), ['v1b'], ['v2b']).v2Percent).toBeUndefined();
  });
});
