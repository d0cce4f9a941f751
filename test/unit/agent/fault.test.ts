import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../../src/agent/config.js';
import { apiFault, FaultInjectedError, faultBegun, faultCheck } from '../../../src/agent/fault.js';
import { describeFault, NO_FAULT, parseFault } from '../../../src/agent/fault-spec.js';
import { InvalidInputError } from '../../../src/util/errors.js';

describe('parseFault (BZZZ_FAULT)', () => {
  it.each([
    [undefined, NO_FAULT],
    ['', NO_FAULT],
    ['unhealthy', { unhealthy: true, errorRatio: 0, slowMs: 0, afterMs: 0 }],
    ['errors', { unhealthy: false, errorRatio: 1, slowMs: 0, afterMs: 0 }],
    ['errors=10%', { unhealthy: false, errorRatio: 0.1, slowMs: 0, afterMs: 0 }],
    ['errors=2.5%', { unhealthy: false, errorRatio: 0.025, slowMs: 0, afterMs: 0 }],
    ['slow=300ms', { unhealthy: false, errorRatio: 0, slowMs: 300, afterMs: 0 }],
    ['slow=1.5s', { unhealthy: false, errorRatio: 0, slowMs: 1500, afterMs: 0 }],
    [' unhealthy , errors=50% ,slow=2s ', { unhealthy: true, errorRatio: 0.5, slowMs: 2000, afterMs: 0 }],
    ['errors,after=30s', { unhealthy: false, errorRatio: 1, slowMs: 0, afterMs: 30_000 }],
    ['after=250ms,unhealthy', { unhealthy: true, errorRatio: 0, slowMs: 0, afterMs: 250 }],
    ['slow=1s,after=2m', { unhealthy: false, errorRatio: 0, slowMs: 1000, afterMs: 120_000 }],
  ])('GIVEN %j THEN %j', (text, want) => {
    expect(parseFault(text)).toEqual(want);
  });

  it.each([
    ['broken', /"broken" is not a fault: use unhealthy, errors/],
    ['unhealthy=yes', /"unhealthy=yes" is not a fault/],
    ['slow', /"slow" is not a fault/],
    ['slow=300', /slow=DURATION in ms or s/],
    ['slow=0ms', /above 0/],
    ['slow=11m', /slow=DURATION/],
    ['slow=601s', /at most 10 min/],
    ['errors=0%', /0 < PERCENT <= 100/],
    ['errors=150%', /0 < PERCENT <= 100/],
    ['errors=10', /errors=PERCENT%/],
    ['errors=1=2', /more than one "="/],
    ['slow=1s,slow=2s', /"slow" is given twice/],
    ['after=30s', /"after" delays a fault: give one as well/],
    ['errors,after', /"after" is not a fault/],
    ['errors,after=30', /after=DURATION in ms, s or m/],
    ['errors,after=0s', /above 0/],
    ['errors,after=61m', /at most 1 h/],
    ['errors,after=1h', /after=DURATION/],
    ['errors,after=-5s', /after=DURATION/],
    ['errors,after=30s,after=1m', /"after" is given twice/],
  ])('GIVEN %j THEN it is refused with %s', (text, message) => {
    expect(() => parseFault(text)).toThrow(message);
  });

  it('names every problem at once', () => {
    expect(() => parseFault('bogus,errors=0%')).toThrow(/"bogus".*; "errors=0%"/);
  });

  it('describes a fault as it would be written', () => {
    expect(describeFault(parseFault('slow=1s,errors=12.5%,unhealthy'))).toBe('unhealthy,errors=12.5%,slow=1000ms');
    expect(describeFault(parseFault('after=2s,errors'))).toBe('errors,after=2000ms');
  });
});

describe('the agent config reads --fault / BZZZ_FAULT', () => {
  it('is off by default', () => {
    expect(parseAgentConfig({ insecureOpenCluster: true }).fault).toEqual(NO_FAULT);
  });
  it('GIVEN a fault THEN it is parsed', () => {
    expect(parseAgentConfig({ insecureOpenCluster: true, fault: 'errors,slow=250ms' }).fault).toEqual({
      unhealthy: false,
      errorRatio: 1,
      slowMs: 250,
      afterMs: 0,
    });
  });
  it('GIVEN a bad fault THEN the error names the flag and its variable', () => {
    const err = (() => {
      try {
        parseAgentConfig({ insecureOpenCluster: true, fault: 'explode' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/--fault \(BZZZ_FAULT\): "explode" is not a fault.*test \/ chaos aid/);
  });
});

describe('apiFault', () => {
  const run = async (text: string, n: number): Promise<boolean[]> => {
    const hook = apiFault(parseFault(text));
    const failed: boolean[] = [];
    for (let i = 0; i < n; i++) {
      failed.push(
        await (hook as (s: AbortSignal) => Promise<void>)(new AbortController().signal).then(
          () => false,
          (e: unknown) => e instanceof FaultInjectedError,
        ),
      );
    }
    return failed;
  };

  it('GIVEN no API fault THEN there is no hook', () => {
    expect(apiFault(parseFault('unhealthy'))).toBeUndefined();
  });
  it('GIVEN errors THEN every request fails with a 500', async () => {
    expect(await run('errors', 3)).toEqual([true, true, true]);
    expect(new FaultInjectedError().status).toBe(500);
  });
  it('GIVEN errors=20% THEN one request in five fails, evenly spread', async () => {
    expect(await run('errors=20%', 10)).toEqual([false, false, false, false, true, false, false, false, false, true]);
  });
  it('GIVEN errors,after=30s THEN requests pass until 30 s after the start, and fail from then on', async () => {
    let now = 1000;
    const f = parseFault('errors,after=30s');
    const begun = faultBegun(f, 1000, () => now);
    const hook = apiFault(f, begun) as (s: AbortSignal) => Promise<void>;
    const signal = new AbortController().signal;
    now = 30_999;
    await expect(hook(signal)).resolves.toBeUndefined();
    expect((await faultCheck(f, begun).run()).status).toBe('pass');
    now = 31_000;
    await expect(hook(signal)).rejects.toBeInstanceOf(FaultInjectedError);
  });
  it('GIVEN unhealthy,after=1s THEN the fault check fails from 1 s after the start', async () => {
    let now = 0;
    const f = parseFault('unhealthy,after=1s');
    const check = faultCheck(
      f,
      faultBegun(f, 0, () => now),
    );
    expect((await check.run()).status).toBe('pass');
    now = 1000;
    expect((await check.run()).status).toBe('fail');
  });
  it('GIVEN slow THEN an aborted request stops waiting', async () => {
    const hook = apiFault(parseFault('slow=600s')) as (s: AbortSignal) => Promise<void>;
    const c = new AbortController();
    const p = hook(c.signal);
    c.abort();
    await expect(p).rejects.toThrow(/abort/i);
  });
});
