// ExecStartPost of the v1 units: waits until the agent just started answers /health/live, so that
// `systemctl start bzzz@<host>` returns once the agent serves, and fails as soon as the agent
// exits (systemd gives ExecStartPost the main process's PID) or when it never answers.
const mainPid = Number(process.env.MAINPID);
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
  if (mainPid > 0 && !alive(mainPid)) {
    console.error(`the agent (PID ${mainPid}) exited before it answered ${url}`);
    process.exit(1);
  }
  if (Date.now() > deadline) {
    console.error(`the agent did not answer ${url} in time`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
