// JUnit XML of a report, so CI test reporters show each hypothesis as a test that passed or
// failed, each critical finding as a failure, and each probe's worst RTO.
import { SEVERITY_LABEL, findingFacts, sortFindings } from './findings.ts';
import { NONE, formatCount, formatLatency, formatMs, formatRatio, formatValue } from './format.ts';
import type { Report } from './schema.ts';
import { worstRtoText } from './tables.ts';

interface Suite {
  readonly name: string;
  readonly cases: readonly string[];
  readonly failures: number;
  readonly errors: number;
  readonly time: string;
  readonly properties?: readonly (readonly [string, string])[];
  readonly systemOut?: string;
}

/**
 * `<testsuites>` with:
 * - a `<testsuite>` named after the workflow, one `<testcase>` per hypothesis; a failed
 *   hypothesis has a `<failure>` with observed vs threshold. A run that did not complete gets
 *   one more testcase, `run <status>`, with an `<error>`, so a crashed run never shows as green;
 * - when there are findings, a `findings` suite: one testcase per finding, a `<failure>` for
 *   each critical one (time, nodes, detail and evidence in its text), warnings and infos passed
 *   with their text as system-out;
 * - when there are probes, a `probes` suite: one passed testcase per probe whose system-out has
 *   its availability (and shed operations, when any), p99, outage and worst time to detect and RTO over its faults.
 */
export function renderJunit(report: Report): string {
  const { run, verdict } = report;
  const seconds = (run.durationMs / 1000).toFixed(3);
  const cases: string[] = verdict.hypotheses.map((h) => {
    const name = h.variant ? `${h.name} [${h.variant}]` : h.name;
    const open = `    <testcase name="${attr(name)}" classname="${attr(`${run.workflow}.hypotheses`)}" time="0">`;
    if (h.ok) return `${open}</testcase>`;
    const observed = formatValue(h.observed, h.unit);
    const threshold = formatValue(h.threshold, h.unit, NONE);
    const message = `observed ${observed}, threshold ${threshold}`;
    const body = [
      h.description ? `${h.description}\n` : '',
      `observed:  ${observed}\n`,
      `threshold: ${threshold}`,
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
  const suites: Suite[] = [{
    name: run.workflow,
    cases,
    failures: verdict.hypotheses.filter((h) => !h.ok).length,
    errors: incomplete ? 1 : 0,
    time: seconds,
    properties: [
      ['run.id', run.id],
      ['run.status', run.status],
      ['run.startedAt', run.startedAt],
      ['run.exitCode', run.exitCode === null ? '' : String(run.exitCode)],
      ['verdict', verdict.outcome],
    ],
    systemOut: `run ${run.id}: ${verdict.outcome}: ${verdict.reason}`,
  }];
  if (report.findings.length) {
    const findings = sortFindings(report.findings);
    suites.push({
      name: 'findings',
      cases: findings.map((f) => {
        const open = `    <testcase name="${attr(`${f.severity}: ${f.title}`)}" classname="${attr(`${run.workflow}.findings.${f.kind}`)}" time="0">`;
        const body = [
          `${SEVERITY_LABEL[f.severity]}: ${f.title}`,
          findingFacts(f).join(' · '),
          ...(f.detail ? ['', f.detail] : []),
          ...f.evidence.flatMap((e) => ['', `--- ${e.label}`, e.text.replace(/\s+$/, '')]),
        ].join('\n');
        if (f.severity !== 'critical') return `${open}\n      <system-out>${text(body)}</system-out>\n    </testcase>`;
        return `${open}\n      <failure message="${attr(`${f.title} (${findingFacts(f).join(' · ')})`)}" type="${attr(f.kind)}">${text(body)}</failure>\n    </testcase>`;
      }),
      failures: findings.filter((f) => f.severity === 'critical').length,
      errors: 0,
      time: '0',
    });
  }
  if (report.probes.length) {
    suites.push({
      name: 'probes',
      cases: report.probes.map((p) => {
        const facts = [
          `availability ${formatRatio(p.availability)}`,
          ...((p.shed ?? 0) > 0 ? [`shed ${formatCount(p.shed ?? 0)} (refused on purpose, HTTP 429; counted as failures)`] : []),
          `p99 ${formatLatency(p.latency?.p99Ms)}`,
          `outage ${formatMs(p.outageMs)}`,
          `time to detect (worst) ${formatMs(p.worst.timeToDetectMs)}`,
          p.worst.status === 'no-faults'
            ? 'RTO — (judged on no fault)'
            : `RTO (worst of ${p.worst.faults} fault${p.worst.faults === 1 ? '' : 's'}) ${worstRtoText(p)}${p.worst.faultId ? ` (fault ${p.worst.faultId})` : ''}`,
        ];
        return `    <testcase name="${attr(p.name)}" classname="${attr(`${run.workflow}.probes`)}" time="0">\n      <system-out>${text(facts.join('\n'))}</system-out>\n    </testcase>`;
      }),
      failures: 0,
      errors: 0,
      time: '0',
    });
  }
  const counts = (s: { tests: number; failures: number; errors: number; time: string }) =>
    `tests="${s.tests}" failures="${s.failures}" errors="${s.errors}" skipped="0" time="${s.time}"`;
  const total = {
    tests: suites.reduce((n, s) => n + s.cases.length, 0),
    failures: suites.reduce((n, s) => n + s.failures, 0),
    errors: suites.reduce((n, s) => n + s.errors, 0),
    time: seconds,
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(run.workflow)}" ${counts(total)}>`,
    ...suites.flatMap((s) => [
      `  <testsuite name="${attr(s.name)}" ${counts({ tests: s.cases.length, failures: s.failures, errors: s.errors, time: s.time })} timestamp="${attr(run.startedAt)}">`,
      ...(s.properties ? ['    <properties>', ...s.properties.map(([name, value]) => `      <property name="${attr(name)}" value="${attr(value)}"/>`), '    </properties>'] : []),
      ...s.cases,
      ...(s.systemOut ? [`    <system-out>${text(s.systemOut)}</system-out>`] : []),
      '  </testsuite>',
    ]),
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
