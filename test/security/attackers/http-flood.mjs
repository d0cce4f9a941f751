// An attacker in a process of its own (so its sockets and buffers are not counted as the agent's):
//   stall-uploads: N connections each send the headers of a large blob upload and a little of
//                  its body, then nothing;
//   slow-readers:  N connections each ask for a blob and then read nothing.
// It reports on stdout, as JSON lines: {"event":"opened"} once all are open, then
// {"event":"done","closedByServer":k,"bytesRead":b} after HOLD_MS (or when all were closed).
// Usage: node http-flood.mjs MODE URL TOKEN N HOLD_MS [PATH]
import { connect } from 'node:net';

const [mode, base, token, nText, holdText, path = '/api/blobs'] = process.argv.slice(2);
const n = Number(nText);
const holdMs = Number(holdText);
const url = new URL(base);
let closedByServer = 0;
let bytesRead = 0;
let opened = 0;
const sockets = [];

function request() {
  if (mode === 'stall-uploads') {
    return (
      `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`
    );
  }
  return `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n\r\n`;
}

await new Promise((resolve) => {
  for (let i = 0; i < n; i++) {
    const s = connect({ host: url.hostname, port: Number(url.port) }, () => {
      s.write(request());
      if (mode === 'stall-uploads') s.write(Buffer.alloc(64 * 1024, 7));
      if (++opened === n) resolve();
    });
    s.on('data', (d) => {
      bytesRead += d.byteLength;
      // A slow reader: take the first bytes, then stop reading (the kernel buffers fill up).
      if (mode === 'slow-readers') s.pause();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      closedByServer++;
      if (opened < n && ++opened === n) resolve();
    });
    sockets.push(s);
  }
});
process.stdout.write(`${JSON.stringify({ event: 'opened' })}\n`);
const deadline = Date.now() + holdMs;
while (Date.now() < deadline && closedByServer < n) await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`${JSON.stringify({ event: 'done', closedByServer, bytesRead })}\n`);
for (const s of sockets) s.destroy();
process.exit(0);
