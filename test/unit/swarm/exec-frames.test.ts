import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameParser } from '../../../src/swarm/exec-frames.js';

describe('FrameParser', () => {
  it('splits stdout and stderr frames however the chunks cut them', () => {
    const wire = Buffer.concat([
      encodeFrame('stdout', Buffer.from('hello ')),
      encodeFrame('stderr', Buffer.from('oops')),
      encodeFrame('stdout', Buffer.from('world')),
      encodeFrame('stdout', Buffer.alloc(0)),
    ]);
    for (const step of [1, 3, 7, 8, 9, wire.length]) {
      const p = new FrameParser();
      const frames = [];
      for (let i = 0; i < wire.length; i += step) frames.push(...p.push(wire.subarray(i, i + step)));
      expect(frames.map((f) => `${f.stream}:${f.payload.toString()}`)).toEqual(['stdout:hello ', 'stderr:oops', 'stdout:world', 'stdout:']);
      expect(p.buffered).toBe(0);
    }
  });

  it('keeps a cut frame pending, so the end of the stream can tell it was cut', () => {
    const p = new FrameParser();
    expect(p.push(encodeFrame('stdout', Buffer.from('abcdef')).subarray(0, 10))).toEqual([]);
    expect(p.buffered).toBe(10);
  });

  it('refuses a stream that is not multiplexed (a TTY exec)', () => {
    expect(() => new FrameParser().push(Buffer.from('plain text output\n'))).toThrow(/not a Docker stream header/);
  });
});
