// report.png: a full-page screenshot of report.html in headless Chromium, for chat messages
// and tickets where an HTML attachment is not shown; it also proves the page renders cleanly.
import { pathToFileURL } from 'node:url';
import { SetupError } from '@resilience/fixtures/errors';
import { chromium } from 'playwright';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface RenderPngOptions {
  /** Viewport width (CSS px). Default 1280. */
  readonly width?: number;
  /** Device scale factor. Default 1. */
  readonly scale?: number;
  /** Longest wait for the page and its charts (ms). Default 30 000. */
  readonly timeoutMs?: number;
}

export interface RenderPngResult {
  readonly png: string;
  /** `console.error` messages of the page. */
  readonly consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[];
  /** URLs the page requested besides its own file (the CSP should make this empty). */
  readonly requests: string[];
}

/**
 * Opens `htmlPath` in Chromium (CHROMIUM_PATH, default /usr/bin/chromium; Playwright's own
 * browser download is not used), waits until every chart has drawn, and saves a full-page
 * PNG at `pngPath`. Throws SetupError when Chromium cannot be started.
 */
export async function renderPng(htmlPath: string, pngPath: string, options: RenderPngOptions = {}): Promise<RenderPngResult> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const timeout = options.timeoutMs ?? 30_000;
  let browser;
  try {
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout });
  } catch (error) {
    throw new SetupError(`Chromium could not be started from ${executablePath} to render ${pngPath}`, {
      cause: error,
      hint: 'Install Debian\'s `chromium` package or set CHROMIUM_PATH; or skip the PNG (`--no-png`, `{ png: false }`).',
    });
  }
  try {
    const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: 900 }, deviceScaleFactor: options.scale ?? 1 });
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const requests: string[] = [];
    const own = pathToFileURL(htmlPath).href;
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      if (request.url() !== own) requests.push(request.url());
    });
    await page.goto(own, { waitUntil: 'load', timeout });
    await page.waitForSelector('html[data-charts-ready="true"]', { state: 'attached', timeout }).catch((error: unknown) => {
      pageErrors.push(`charts did not finish drawing: ${error instanceof Error ? error.message : String(error)}`);
    });
    await page.screenshot({ path: pngPath, fullPage: true, timeout });
    return { png: pngPath, consoleErrors, pageErrors, requests };
  } finally {
    await browser.close();
  }
}
