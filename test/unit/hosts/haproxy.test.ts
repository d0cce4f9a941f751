// HAProxy's runtime API: `show servers state` parsed (format 1), the switch's commands in make-
// before-break order, names validated, answers checked. The real HAProxy is in test/integration/hosts.
import { describe, expect, it } from 'vitest';
import {
  HaproxyError,
  HaproxySwitch,
  adminStateName,
  checkHaproxyName,
  checkSetAnswer,
  haproxyView,
  parseServersState,
  switchCommands,
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
