// The small web page at `/`: place an order and look one up, with a little inline script and no
// external resources. Element ids are stable: browser probes drive the page through them.
import type { Mode } from './config.ts';

/** Ids browser probes rely on. */
export const PAGE_IDS = {
  item: 'item',
  quantity: 'quantity',
  place: 'place',
  orderId: 'order-id',
  lookup: 'lookup',
  result: 'result',
} as const;

/** The page allows only its own inline script and style, and nothing from elsewhere. */
export const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'";

export function renderPage(mode: Mode): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orders (${mode})</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; margin-bottom: 1.5rem; }
  label { display: flex; flex-direction: column; font-size: .85rem; }
  input { font: inherit; padding: .3rem; }
  #${PAGE_IDS.result} { background: #f4f4f4; padding: .75rem; min-height: 3rem; white-space: pre-wrap; }
  #${PAGE_IDS.result}[data-ok="false"] { background: #fde8e8; }
</style>
</head>
<body>
<h1>Orders</h1>
<p>Mode: <strong id="mode">${mode}</strong></p>
<form id="place-form">
  <label>Item <input id="${PAGE_IDS.item}" name="item" required maxlength="200" value="widget"></label>
  <label>Quantity <input id="${PAGE_IDS.quantity}" name="quantity" type="number" min="1" step="1" required value="1"></label>
  <button id="${PAGE_IDS.place}" type="submit">Place order</button>
</form>
<form id="lookup-form">
  <label>Order id <input id="${PAGE_IDS.orderId}" name="id" required size="38"></label>
  <button id="${PAGE_IDS.lookup}" type="submit">Look up</button>
</form>
<pre id="${PAGE_IDS.result}" data-state="idle" aria-live="polite"></pre>
<script>
  const result = document.getElementById('${PAGE_IDS.result}');
  const orderId = document.getElementById('${PAGE_IDS.orderId}');
  async function call(method, path, body) {
    result.dataset.state = 'pending';
    const started = performance.now();
    try {
      const res = await fetch(path, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(10000),
      });
      const json = await res.json().catch(() => ({}));
      result.dataset.status = String(res.status);
      result.dataset.ok = String(res.ok);
      result.textContent = res.status + ' in ' + Math.round(performance.now() - started) + ' ms\\n' + JSON.stringify(json, null, 2);
      return json;
    } catch (e) {
      result.dataset.status = '0';
      result.dataset.ok = 'false';
      result.textContent = 'request failed: ' + e.message;
      return undefined;
    } finally {
      result.dataset.state = 'done';
    }
  }
  document.getElementById('place-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const json = await call('POST', '/orders', {
      item: document.getElementById('${PAGE_IDS.item}').value,
      quantity: Number(document.getElementById('${PAGE_IDS.quantity}').value),
    });
    if (json && json.id) orderId.value = json.id;
  });
  document.getElementById('lookup-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    await call('GET', '/orders/' + encodeURIComponent(orderId.value.trim()));
  });
</script>
</body>
</html>
`;
}
