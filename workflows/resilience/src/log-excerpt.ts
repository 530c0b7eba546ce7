// The part of a node's log a finding shows: the lines from the fault on, with the loop's
// heartbeat said once. Patroni logs one or two lines every loop (`Lock owner: pg1; I am pg2`,
// `no action. I am (pg2), a secondary, and following a leader (pg1)`); left in, ten seconds of
// them push the lines that matter (the demotion, the promotion, the lock taken back) out of
// an excerpt, and the last lines of a log read later are only heartbeats.

/** A line's text without Docker's timestamp and the program's own (`2026-12-07 03:31:37,123 `). */
export function logKey(line: string): string {
  return line
    .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\s+/, '')
    .replace(/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s+/, '');
}

/** A line that says nothing happened: Patroni's loop and Sentinel's nothing-to-do lines. */
export const HEARTBEAT = /no action\.|Lock owner: /;

/**
 * The first `max` lines of `lines` (in order, already filtered to what is of interest) with every
 * heartbeat said once until something else happens: a heartbeat line seen since the last other
 * line is counted, not shown, and the count is a line of its own before what comes next.
 * Lines past `max` are counted in a last line.
 */
export function logExcerpt(lines: readonly string[], max = 25, heartbeat: RegExp = HEARTBEAT): string[] {
  const out: string[] = [];
  let seen = new Set<string>();
  let repeats = 0;
  let last = '';
  const flush = (): void => {
    if (repeats > 0) out.push(`  … ${repeats} more of the same heartbeat line${repeats === 1 ? '' : 's'} as above, the last at ${last}`);
    repeats = 0;
  };
  for (const line of lines) {
    const key = logKey(line);
    if (heartbeat.test(key)) {
      if (seen.has(key)) {
        repeats += 1;
        last = line.slice(0, line.length - key.length).trim() || '(no time)';
        continue;
      }
      flush();
      seen.add(key);
    } else {
      flush();
      seen = new Set();
    }
    out.push(line);
  }
  flush();
  if (out.length <= max) return out;
  return [...out.slice(0, max), `(${out.length - max} more line${out.length - max === 1 ? '' : 's'})`];
}
