// Screenshots of failed browser journeys: the journal's failed samples name a PNG in the run's
// report folder; report.json lists the first few and report.html inlines them (the page is one
// self-contained file that may load nothing), so what users saw travels with the report.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { JournalEvent } from '@resilience/fixtures/events';
import { MAX_REPORT_SCREENSHOTS } from './schema.ts';
import type { ReportScreenshot, ReportScreenshots } from './schema.ts';

/** The largest PNG inlined into report.html; a larger one is named, not shown. */
export const MAX_INLINE_SCREENSHOT_BYTES = 1024 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A path the report may read: relative, inside the report folder, a .png. A journal is not
 * checked when written, and an HTML report must not pull in `/etc/...` or `../..` files.
 */
export function isReportFilePath(file: string): boolean {
  if (file === '' || file.includes('\\') || file.includes('\0') || posix.isAbsolute(file)) return false;
  const normal = posix.normalize(file);
  return normal === file && !normal.startsWith('../') && normal !== '..' && /\.png$/i.test(normal);
}

/** Collects the failed samples with a screenshot while the journal is read once. */
export class ScreenshotCollector {
  #total = 0;
  readonly #shown: ReportScreenshot[] = [];

  push(event: JournalEvent): void {
    if (event.type !== 'sample' || event.ok !== false) return;
    const file = event.screenshot;
    if (typeof file !== 'string' || !isReportFilePath(file)) return;
    this.#total += 1;
    if (this.#shown.length >= MAX_REPORT_SCREENSHOTS) return;
    const r = (ms: number): number => Math.round(ms * 1000) / 1000;
    this.#shown.push({
      probe: String(event.probe),
      op: String(event.op),
      at: r(event.intended),
      durationMs: r(event.completed - event.intended),
      error: typeof event.error === 'string' ? event.error : '',
      file,
    });
  }

  /** Undefined when the journal had none (report.json then has no `screenshots`). */
  finish(): ReportScreenshots | undefined {
    return this.#total === 0 ? undefined : { total: this.#total, shown: [...this.#shown] };
  }
}

/** A screenshot as report.html shows it: a data: URL, or why it cannot be shown. */
export type LoadedScreenshot = { readonly dataUrl: string } | { readonly problem: string };

/** Reads each listed PNG from `dir` (the report folder); a missing, oversized or non-PNG file gets a problem instead. */
export async function loadScreenshots(shots: readonly ReportScreenshot[], dir: string | undefined): Promise<Map<string, LoadedScreenshot>> {
  const out = new Map<string, LoadedScreenshot>();
  await Promise.all(shots.map(async (s) => {
    if (out.has(s.file)) return;
    if (dir === undefined || !isReportFilePath(s.file)) {
      out.set(s.file, { problem: 'not available (the report was written without its run folder)' });
      return;
    }
    const bytes = await readFile(join(dir, s.file)).catch((e: NodeJS.ErrnoException) => e);
    if (bytes instanceof Error) out.set(s.file, { problem: bytes.code === 'ENOENT' ? 'file not found' : `unreadable (${bytes.code ?? bytes.message})` });
    else if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) out.set(s.file, { problem: 'not a PNG' });
    else if (bytes.length > MAX_INLINE_SCREENSHOT_BYTES) out.set(s.file, { problem: `too large to inline (${Math.round(bytes.length / 1024)} kB)` });
    else out.set(s.file, { dataUrl: `data:image/png;base64,${bytes.toString('base64')}` });
  }));
  return out;
}
