// The exit codes of every workflow, a small documented taxonomy (after k6's errext codes).
export const ExitCode = {
  /** Every hypothesis held. */
  passed: 0,
  /** A hypothesis or SLO failed, or the workflow itself failed. */
  failed: 1,
  /** Bad input or a setup error; nothing was started or changed. */
  badInput: 2,
  /** A heal failed: the system under test may still be broken. */
  healFailed: 3,
  /** Interrupted (Ctrl-C / SIGTERM); faults were healed and a partial report written. */
  interrupted: 130,
} as const;
