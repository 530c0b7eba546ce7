// JUnit XML of a report, so CI test reporters show each hypothesis as a test that passed or failed.
import { formatScalar } from './format.ts';
import type { Report } from './schema.ts';

/**
 * `<testsuites>` with one `<testsuite>` named after the workflow and one `<testcase>` per
 * hypothesis; a failed hypothesis has a `<failure>` with observed vs threshold. A run that did
 * not complete gets one more testcase, `run <status>`, with an `<error>`, so a crashed run
 * never shows as green in CI.
 */
export function renderJunit(report: Report): string {
  const { run, verdict } = report;
  const seconds = (run.durationMs / 1000).toFixed(3);
  const cases: string[] = verdict.hypotheses.map((h) => {
    const open = `    <testcase name="${attr(h.name)}" classname="${attr(`${run.workflow}.hypotheses`)}" time="0">`;
    if (h.ok) return `${open}</testcase>`;
    const message = `observed ${formatScalar(h.observed, h.unit)}, threshold ${formatScalar(h.threshold, h.unit)}`;
    const body = [
      h.description ? `${h.description}\n` : '',
      `observed:  ${formatScalar(h.observed, h.unit)}\n`,
      `threshold: ${formatScalar(h.threshold, h.unit)}`,
    ].join('');
    return `${open}\n      <failure message="${attr(message)}" type="hypothesis">${text(body)}</failure>\n    </testcase>`;
  });
  const incomplete = run.status !== 'completed';
  if (incomplete) {
    const message = verdict.reason;
    cases.push(
      `    <testcase name="${attr(`run ${run.status}`)}" classname="${attr(`${run.workflow}.run`)}" time="${seconds}">\n`
      + `      <error message="${attr(message)}" type="${attr(run.status)}">${text(message)}</error>\n    </testcase>`,
    );
  }
  const failures = verdict.hypotheses.filter((h) => !h.ok).length;
  const errors = incomplete ? 1 : 0;
  const properties = [
    ['run.id', run.id],
    ['run.status', run.status],
    ['run.startedAt', run.startedAt],
    ['run.exitCode', run.exitCode === null ? '' : String(run.exitCode)],
    ['verdict', verdict.outcome],
  ].map(([name, value]) => `      <property name="${attr(name!)}" value="${attr(value!)}"/>`);
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(run.workflow)}" ${counts}>`,
    `  <testsuite name="${attr(run.workflow)}" ${counts} timestamp="${attr(run.startedAt)}">`,
    '    <properties>',
    ...properties.map((p) => `  ${p}`),
    '    </properties>',
    ...cases,
    `    <system-out>${text(`run ${run.id}: ${verdict.outcome}: ${verdict.reason}`)}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

// Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF).
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escaped for an element's text. */
export function text(value: string): string {
  return value.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped for a double-quoted attribute (newlines and tabs kept as character references). */
export function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
