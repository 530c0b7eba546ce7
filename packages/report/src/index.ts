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
export { renderComparisonMarkdown, renderMarkdown } from './markdown.ts';
export {
  DEFAULT_TOLERANCE, HYPOTHESIS_PREFIX as BASELINE_HYPOTHESIS_PREFIX, comparisonHeadline, comparisonNotes, comparisonTable, compareReports, formatDiff,
  noiseText, parseTolerance, renderComparisonText, rowName, spread, withBaseline,
} from './compare.ts';
export type { CompareOptions, Comparison } from './compare.ts';
export { loadReport } from './load.ts';
export type { LoadedReport } from './load.ts';
export { renderHtml } from './html.ts';
export type { RenderHtmlOptions } from './html.ts';
export { MAX_INLINE_SCREENSHOT_BYTES, isReportFilePath } from './screenshots.ts';
export type { BuildReportOptions, HypothesisInput, MeasurementInput, WriteReportOptions } from './options.ts';
