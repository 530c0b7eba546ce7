// @resilience/report: the files a run leaves behind (report.json, junit.xml, summary.md,
// report.html, report.png), built from its journal.
export * from './schema.ts';
export * from './redact.ts';
export * from './timeline.ts';
export * from './resources.ts';
export * from './build.ts';
export * from './write.ts';
export * from './png.ts';
export { renderJunit } from './junit.ts';
export { findingCounts, findingFacts, renderFindingsText, sortFindings } from './findings.ts';
export type { FindingLike, FindingsTextOptions } from './findings.ts';
export { faultHealLabel, faultKindLabel, formatAt, formatLatency, formatSpan, formatValue, measurementName } from './format.ts';
export { renderMarkdown } from './markdown.ts';
export { renderHtml } from './html.ts';
export type { BuildReportOptions, HypothesisInput, MeasurementInput, WriteReportOptions } from './options.ts';
