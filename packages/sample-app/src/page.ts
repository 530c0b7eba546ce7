// The small web page at `/`: place an order, look one up, and the list of the newest orders
// (loaded with the page and again after each placed order), with a little inline script and no
// external resources. Element ids are stable: browser probes drive the page through them.
import type { Mode } from './config.ts';
import { DEFAULT_LIST_LIMIT } from './orders.ts';

/** Ids browser probes rely on. */
export const PAGE_IDS = {
  item: 'item',
  quantity: 'quantity',
  place: 'place',
  orderId: 'order-id',
  lookup: 'lookup',
  result: 'result',
  /** `<ul>` of the newest orders, one `<li data-order-id="...">` each; `data-state` loading, done or error. */
  orders: 'orders',
  /** Why the list could not be loaded, shown in the page (hidden while the list is fine). */
  ordersError: 'orders-error',
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
  #${PAGE_IDS.orders} { padding-left: 1.25rem; }
  #${PAGE_IDS.orders} small { color: #666; }
  #${PAGE_IDS.ordersError} { background: #fde8e8; color: #8a1c1c; padding: .5rem .75rem; }
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
<h2>Newest orders</h2>
<p id="${PAGE_IDS.ordersError}" role="alert" hidden></p>
<ul id="${PAGE_IDS.orders}" data-state="idle" aria-live="polite"></ul>
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
  const list = document.getElementById('${PAGE_IDS.orders}');
  const listError = document.getElementById('${PAGE_IDS.ordersError}');
  // Loads may overlap (the page's own, one after each placed order): only the latest started is
  // shown, so a slow older answer never replaces a newer list.
  let listLoads = 0;
  async function loadOrders() {
    const n = ++listLoads;
    list.dataset.state = 'loading';
    let problem;
    let orders;
    try {
      const res = await fetch('/orders?limit=${DEFAULT_LIST_LIMIT}', { signal: AbortSignal.timeout(10000) });
      const json = await res.json().catch(() => undefined);
      if (res.ok && json && Array.isArray(json.orders)) orders = json.orders;
      else problem = res.status + ' ' + (json ? JSON.stringify(json) : res.statusText);
    } catch (e) {
      problem = 'request failed: ' + e.message;
    }
    if (n !== listLoads) return;
    if (orders) {
      // textContent only: an item is whatever a user typed.
      list.replaceChildren(...orders.map((o) => {
        const li = document.createElement('li');
        li.dataset.orderId = o.id;
        const when = document.createElement('small');
        when.textContent = ' ' + o.createdAt;
        li.append(o.item + ' × ' + o.quantity, when);
        return li;
      }));
      listError.hidden = true;
      listError.textContent = '';
      list.dataset.state = 'done';
    } else {
      // The orders shown before stay (they were true), but the failure is said, not hidden.
      listError.textContent = 'Could not load the orders: ' + problem;
      listError.hidden = false;
      list.dataset.state = 'error';
    }
  }
  document.getElementById('place-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const json = await call('POST', '/orders', {
      item: document.getElementById('${PAGE_IDS.item}').value,
      quantity: Number(document.getElementById('${PAGE_IDS.quantity}').value),
    });
    if (json && json.id) {
      orderId.value = json.id;
      // Started in the same task that turned #result done: whoever saw the order placed sees the
      // list loading (or loaded) after it, never the state from before.
      loadOrders();
    }
  });
  document.getElementById('lookup-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    await call('GET', '/orders/' + encodeURIComponent(orderId.value.trim()));
  });
  loadOrders();
</script>
</body>
</html>
`;
}
