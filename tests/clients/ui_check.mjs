// Why: drives the gateway's operator page (/ui) in a real headless browser (Debian's chromium through
// playwright-core) for tests/it/ui.rs: overview, catalog search, "try a query", with screenshots.
//
// Usage: node ui_check.mjs BASE_URL API_KEY OUT_DIR QUERY CONTEXT
//   BASE_URL  the gateway, e.g. http://127.0.0.1:41234
//   API_KEY   sent as X-API-Key on every request the browser makes
//   OUT_DIR   where the screenshots go (ui-overview.png, ui-catalog.png, ui-try.png)
//   QUERY     the ucp_search_tools query the test made before, expected among the recent selections
//   CONTEXT   the POST /v1/select context the test sent before, expected there too
// Checks what a person would look at and exits 1 with the reason on the first thing that is wrong;
// on success prints ONE JSON object: {"servers": [...], "selections": [...], "reloads": [...],
// "catalog": {"all": N, "shown": N, "rows": [...]}, "ranked": {"headers": [...], "rows": [...]},
// "screenshots": [paths]}.
// playwright-core is found under $UCP_HOME/tools/node (scripts/setup.sh); the browser is
// $UCP_CHROMIUM or /usr/bin/chromium. No browser is ever downloaded.

import { createRequire } from 'node:module';
import path from 'node:path';
import os from 'node:os';

const [base, key, outDir, query, selectContext] = process.argv.slice(2);
if (!base || !key || !outDir || !query || !selectContext) {
  console.error('usage: ui_check.mjs BASE_URL API_KEY OUT_DIR QUERY CONTEXT');
  process.exit(2);
}
const ucpHome = process.env.UCP_HOME || path.join(os.homedir(), '.ucp');
const require = createRequire(path.join(ucpHome, 'tools', 'node', 'package.json'));
const { chromium } = require('playwright-core');

function check(ok, what, seen) {
  if (!ok) {
    throw new Error(`${what}; saw: ${JSON.stringify(seen)}`);
  }
}

// The text of every cell of every body row of table `selector`, plus each row's data-* attributes.
async function rows(page, selector) {
  return page.$$eval(`${selector} tbody tr`, (trs) =>
    trs.map((tr) => ({ data: { ...tr.dataset }, cells: [...tr.cells].map((c) => c.textContent.trim()) })),
  );
}

const browser = await chromium.launch({
  executablePath: process.env.UCP_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const summary = { screenshots: [] };
let failed = null;
try {
  const context = await browser.newContext({
    extraHTTPHeaders: { 'X-API-Key': key },
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  const shot = async (name) => {
    const file = path.join(outDir, name);
    await page.screenshot({ path: file, fullPage: true });
    summary.screenshots.push(file);
  };

  // The overview: servers, recent selections, recent reloads.
  const response = await page.goto(`${base}/ui`);
  check(response.status() === 200, 'GET /ui answers 200', response.status());
  check((await page.title()).startsWith('Overview'), 'the overview page is titled', await page.title());
  summary.servers = await rows(page, '#servers');
  for (const name of ['everything', 'time']) {
    const row = summary.servers.find((r) => r.data.server === name);
    check(row, `a row for server ${name}`, summary.servers);
    // Server, Transport, State, Circuit, Tools, Restarts
    check(row.cells[1] === 'stdio', `${name} is a stdio server`, row);
    check(row.cells[2] === 'connected', `${name} is connected`, row);
    check(row.cells[3] === 'closed', `${name}'s circuit is closed`, row);
    check(Number(row.cells[4]) > 0, `${name} has tools`, row);
    check(row.cells[5] === '0', `${name} never restarted`, row);
  }
  summary.selections = await rows(page, '#selections');
  const selection = summary.selections.find((r) => r.cells[3] === query);
  check(selection, 'the search is among the recent selections', summary.selections);
  check(selection.cells[1] === 'operator', "the selection names the caller's identity", selection);
  check(selection.cells[2].startsWith('ucp_search_tools'), 'the selection came through ucp_search_tools', selection);
  check(selection.cells[4].includes('time__get_current_time'), 'the selection lists its top tools', selection);
  const select = summary.selections.find((r) => r.cells[3] === selectContext);
  check(select, 'the /v1/select request is among the recent selections', summary.selections);
  check(select.cells[2].startsWith('/v1/select'), 'the selection came through /v1/select', select);
  check(select.cells[4].startsWith('everything__get-sum'), 'its best tool comes first', select);
  check(summary.selections.indexOf(select) < summary.selections.indexOf(selection), 'newest first', summary.selections);
  summary.reloads = await rows(page, '#reloads');
  check(
    summary.reloads.some((r) => r.cells[1] === 'applied' && r.cells[2].includes('server.ui')),
    'the reload that turned the page on is listed with what it changed',
    summary.reloads,
  );
  check(
    summary.reloads.some((r) => r.cells[1] === 'failed' && r.cells[2].includes('server.max_body_bytes')),
    'the failed reload is listed with its reason',
    summary.reloads,
  );
  await shot('ui-overview.png');

  // The catalog, then searched through its form.
  await Promise.all([page.waitForURL('**/ui/catalog'), page.click('header a[href="/ui/catalog"]')]);
  const all = await rows(page, '#catalog');
  check(all.length > 5, 'the catalog lists the tools', all.length);
  check(
    (await page.textContent('#count')).startsWith(`${all.length} of ${all.length} tools`),
    'the count says every tool is shown',
    await page.textContent('#count'),
  );
  await page.fill('input[name=q]', 'timezone');
  await Promise.all([page.waitForURL('**/ui/catalog?q=timezone'), page.click('form button')]);
  const found = await rows(page, '#catalog');
  check(found.length > 0 && found.length < all.length, 'the search narrows the catalog', found);
  check(
    found.every((r) => r.cells.join(' ').toLowerCase().includes('timezone')),
    'every row found holds the term',
    found,
  );
  check(found.some((r) => r.cells[0] === 'time__convert_time'), 'time__convert_time is found', found);
  check((await page.inputValue('input[name=q]')) === 'timezone', 'the form keeps the query', null);
  summary.catalog = { all: all.length, shown: found.length, rows: found.map((r) => r.cells[0]) };
  await shot('ui-catalog.png');

  // "Try a query": the ranked tools with each signal's score.
  await Promise.all([page.waitForURL('**/ui/try'), page.click('header a[href="/ui/try"]')]);
  await page.fill('input[name=q]', 'convert 3pm New York time to London time');
  await page.fill('input[name=k]', '4');
  await Promise.all([page.waitForURL('**/ui/try?q=*'), page.click('form button')]);
  const headers = await page.$$eval('#ranked thead th', (ths) => ths.map((th) => th.textContent.trim()));
  for (const column of ['Score', 'BM25', 'Dense', 'Learned', 'Co-occurrence']) {
    check(headers.includes(column), `a ${column} column`, headers);
  }
  const ranked = await rows(page, '#ranked');
  check(ranked.length === 4, 'k=4 ranks four tools', ranked);
  check(ranked[0].cells[1] === 'time__convert_time', 'the best tool comes first', ranked[0]);
  const at = (name) => headers.indexOf(name);
  for (const row of ranked) {
    for (const column of ['Score', 'BM25', 'Dense', 'Learned', 'Co-occurrence']) {
      check(/^-?\d+\.\d{3}$/.test(row.cells[at(column)]), `${column} is a number`, row);
    }
  }
  check(Number(ranked[0].cells[at('BM25')]) > 0, 'the best tool has a keyword score', ranked[0]);
  check(Number(ranked[0].cells[at('Dense')]) > 0, 'the best tool has a dense score', ranked[0]);
  summary.ranked = { headers, rows: ranked.map((r) => r.cells) };
  await shot('ui-try.png');
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`ui_check: ${failed.message}`);
  process.exit(1);
}
console.log(JSON.stringify(summary));
