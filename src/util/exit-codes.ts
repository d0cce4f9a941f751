// Exit codes every bzzzctl command (operator and agent alike) returns, so scripts can rely on them:
// 0 success; 1 invalid input, or for `diff` differences found; 2 failure.
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_ERROR = 2;
