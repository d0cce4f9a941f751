// ExecStartPost of the v1 units: waits until the agent just started answers /health/live, so that
// `systemctl start bzzz@<host>` returns once the agent serves (and fails when it never does).
const port = process.env.BZZZ_HEALTH_PORT || '8081';
const url = `http://127.0.0.1:${port}/health/live`;
const deadline = Date.now() + Number(process.env.BZZZ_V1_START_TIMEOUT_MS || 30000);
for (;;) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    if (r.ok) process.exit(0);
  } catch {
    // not listening yet
  }
  if (Date.now() > deadline) {
    console.error(`the agent did not answer ${url} in time`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
