// Exit codes every bzzzctl command (operator and agent alike) returns, so scripts can rely on them:
// 0 success; 1 invalid input, or for `diff` differences found; 2 failure.
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_ERROR = 2;
// `bzzzctl rollout status` (and a rollout verb that waits) also: 3 the rollout is paused;
// 4 it is still in progress (without --watch, or when --watch timed out). 2 means rolled back.
export const EXIT_PAUSED = 3;
export const EXIT_IN_PROGRESS = 4;
