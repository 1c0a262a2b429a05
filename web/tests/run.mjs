#!/usr/bin/env node
// Browser tests of the web console: Playwright (playwright-core) drives Debian's chromium, headless, against
// the real c19ai server started here on embedded defaults (SQLite, local storage) with a temporary data folder.
//
//   node tests/run.mjs            (npm test)   — needs web/dist built (npm run build) and build/c19ai
//
// Environment: C19AI_BIN (server binary, default ../build/c19ai), CHROMIUM (default /usr/bin/chromium),
// C19AI_WEB_ARTIFACTS (screenshots, default ../build/web-artifacts), C19AI_WEB_KEEP=1 (keep the data folder),
// C19AI_WEB_ONLY=<regex> (while working on one screen: sign in, then only the self-contained journeys whose names
// match; the rest are listed as not run).
//
// Journeys (in order; later ones use what earlier ones made): sign-in errors and sign-in, dashboard with live
// events, files upload/download, dataset upload with profile / schema / validation / drift / outliers / cleaning,
// model registration, version upload and tag edit, stage promotion / alias / integrity check / rollback,
// deployment with batching settings, playground prediction and live charts, training, experiments and sweeps
// (a sweep started from the form, followed live, its runs compared, the experiment archived), the playground for
// k-means (trained from the form; cluster and distances, the V2 protocol) and an autoencoder (from the form; embed,
// nearest-row search), char_rnn (from the form) generation with a seed (when the server has /generate), inline record validation, a Great Expectations import and a background
// validation run, registry retention and replications, admin screens (users, roles, audit,
// system), account (API key), a viewer's restricted view with a password change, two-factor setup and a TOTP
// sign-in, narrow layout, keyboard-only use, undeploy. Every screenshot also runs an axe-core accessibility check.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '..');
const repo = path.resolve(web, '..');
const BIN = process.env.C19AI_BIN || path.join(repo, 'build', 'c19ai');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.C19AI_WEB_ARTIFACTS || path.join(repo, 'build', 'web-artifacts');
const DIST = path.join(web, 'dist');
const ADMIN_PASSWORD = 'Console-admin-2026!';
const VIEWER = {
  username: 'viewer1', email: 'viewer1@example.com', password: 'Viewer-password-2026!', newPassword: 'Viewer-changed-2026!',
};
const MODEL = 'iris-xgb';
// Markup in values from the API must show as text (the console never renders API values as HTML).
const XSS = '<img src=x onerror=alert(1)>';

function fail(msg) {
  console.error('web tests: ' + msg);
  process.exit(1);
}

for (const [what, p] of [['server binary', BIN], ['chromium', CHROMIUM], ['built console (npm run build)', path.join(DIST, 'index.html')]]) {
  if (!fs.existsSync(p)) fail(`missing ${what}: ${p}`);
}
fs.mkdirSync(ARTIFACTS, { recursive: true });
for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));

// ------------------------------------------------------------------------------------------- the server

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'c19ai-web-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('C19AI_')));
env.C19AI_ADMIN_PASSWORD = ADMIN_PASSWORD;
const logPath = path.join(dataDir, 'server.log');
const log = fs.openSync(logPath, 'w');
const server = spawn(
  BIN,
  ['serve', '--port', String(port), '--data-dir', path.join(dataDir, 'data'),
   '--set', `server.static_dir=${DIST}`,
   // A documented low-cost Argon2id setting for tests only.
   '--set', 'auth.argon2_memory=1MiB', '--set', 'auth.argon2_iterations=1'],
  { cwd: dataDir, env, stdio: ['ignore', log, log] },
);
let serverExited = false;
server.on('exit', () => {
  serverExited = true;
});

function stopServer() {
  if (!serverExited) server.kill('SIGTERM');
}
process.on('exit', stopServer);

async function waitReady() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (serverExited) fail('the server exited:\n' + fs.readFileSync(logPath, 'utf8'));
    try {
      const r = await fetch(base + '/health');
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  fail('the server did not come up:\n' + fs.readFileSync(logPath, 'utf8'));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function apiLogin(username, password) {
  const r = await fetch(base + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  return (await r.json()).access_token;
}

async function apiCall(token, method, p, body) {
  const r = await fetch(base + p, {
    method,
    headers: { Authorization: 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// ------------------------------------------------------------------------------------------- fixtures

const fixtures = path.join(dataDir, 'fixtures');
fs.mkdirSync(fixtures);
// A tiny XGBoost binary classifier over 4 features (Debian's python3-xgboost, as the ML tests use).
execFileSync('/usr/bin/python3', ['-c', `
import numpy as np, xgboost as xgb
rng = np.random.default_rng(3)
x = rng.normal(size=(200, 4)).astype(np.float32)
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
b = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, xgb.DMatrix(x, label=y), num_boost_round=10)
b.save_model(${JSON.stringify(path.join(fixtures, 'model.json'))})
`], { stdio: 'inherit' });
fs.writeFileSync(path.join(fixtures, 'notes.csv'), 'a,b\n1,<b>not html</b>\n');
// An iris-like table: four measurements and a species (a fixed pseudo-random sequence).
{
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  const species = ['setosa', 'versicolor', 'virginica'];
  for (let i = 0; i < 150; i++) {
    const k = i % 3;
    const v = (base, step, spread) => (base + k * step + (rnd() - 0.5) * spread).toFixed(2);
    rows.push([v(5.0, 0.8, 0.8), v(3.4, -0.3, 0.6), v(1.4, 2.0, 0.8), v(0.2, 0.9, 0.3), species[k]].join(','));
  }
  fs.writeFileSync(path.join(fixtures, 'iris.csv'), rows.join('\n') + '\n');
}
// A larger table of the same kind for training (enough rows that the epochs take visible time).
{
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  const species = ['setosa', 'versicolor', 'virginica'];
  for (let i = 0; i < 4000; i++) {
    const k = i % 3;
    const v = (base, step, spread) => (base + k * step + (rnd() - 0.5) * spread).toFixed(2);
    rows.push([v(5.0, 0.8, 1.6), v(3.4, -0.3, 1.2), v(1.4, 2.0, 2.4), v(0.2, 0.9, 1.2), species[k]].join(','));
  }
  fs.writeFileSync(path.join(fixtures, 'flowers.csv'), rows.join('\n') + '\n');
}

// A small two-class table for the sweep journey (each epoch takes a fraction of a second).
{
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows = ['x1,x2,x3,label'];
  for (let i = 0; i < 1200; i++) {
    const k = i % 2;
    rows.push([(k + (rnd() - 0.5) * 5).toFixed(2), (-k + (rnd() - 0.5) * 5).toFixed(2), rnd().toFixed(2), k ? 'b' : 'a'].join(','));
  }
  fs.writeFileSync(path.join(fixtures, 'blobs.csv'), rows.join('\n') + '\n');
}

// Three groups of points (a, b, c) and a label, for k-means and the autoencoder.
{
  let seed = 9;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows = ['a,b,c,kind'];
  for (let i = 0; i < 60; i++) {
    const k = i % 3;
    rows.push([(k * 3 + rnd()).toFixed(2), (-k * 2 + rnd()).toFixed(2), rnd().toFixed(2), 'xyz'[k]].join(','));
  }
  fs.writeFileSync(path.join(fixtures, 'points.csv'), rows.join('\n') + '\n');
}
// A few short lines of text for the character model.
fs.writeFileSync(
  path.join(fixtures, 'lines.csv'),
  ['text', ...Array.from({ length: 80 }, (_, i) => `the cat sees the dog ${i % 5}`)].join('\n') + '\n',
);
// A Great Expectations suite: one expectation that runs here, one that does not.
fs.writeFileSync(
  path.join(fixtures, 'points-suite.json'),
  JSON.stringify({
    expectation_suite_name: 'points-suite',
    expectations: [
      { expectation_type: 'expect_column_values_to_be_between', kwargs: { column: 'a', min_value: 0, max_value: 5 } },
      { expectation_type: 'expect_column_values_to_be_in_set', kwargs: { column: 'kind', value_set: ['x', 'y', 'z'] } },
      { expectation_type: 'expect_column_kl_divergence_to_be_less_than', kwargs: { column: 'a', threshold: 0.1 } },
    ],
  }),
);

// ------------------------------------------------------------------------------------------- TOTP

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

// ------------------------------------------------------------------------------------------- harness

await waitReady();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
let page = await context.newPage();
const problems = [];
function watch(p) {
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  p.on('console', (m) => {
    const t = m.text();
    // Expected API error answers (wrong password, forbidden) show up as failed-resource console errors.
    if (m.type() === 'error' && !/Failed to load resource/.test(t)) problems.push(`console error: ${t}`);
    if (/Content Security Policy/i.test(t)) problems.push(`CSP violation: ${t}`);
  });
}
watch(page);
// Confirmation dialogs (undeploy, roll back, delete) are accepted.
page.on('dialog', (d) => {
  if (d.type() !== 'confirm') problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
  void d.accept();
});
// Generous: CTest runs this beside other tests on small CI machines.
page.setDefaultTimeout(30_000);

// Accessibility: axe-core (WCAG 2 A and AA rules) on every screen that gets a screenshot; serious and
// critical violations fail the journey. Evaluated through the DevTools protocol, so the page's CSP is untouched.
const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
async function checkAccessibility(name, p) {
  const violations = await p.evaluate(async (src) => {
    if (!window.axe) (0, eval)(src);
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  }, axeSource);
  for (const v of violations) problems.push(`accessibility on ${name}: ${v}`);
}

let shot = 0;
async function screenshot(name, p = page) {
  if (!name.startsWith('FAILED')) await checkAccessibility(name, p);
  shot++;
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  return file;
}

async function go(route) {
  await page.goto(`${base}/#${route}`);
}

async function signIn(username, password) {
  await page.getByLabel('User name or email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to C19 AI' }).waitFor();
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function expectText(locator, re, msg) {
  await locator.first().waitFor();
  const t = await locator.first().innerText();
  expect(re.test(t), `${msg}: got ${JSON.stringify(t)}`);
}

const results = [];
const ONLY = process.env.C19AI_WEB_ONLY ? new RegExp(process.env.C19AI_WEB_ONLY, 'i') : null;
async function journey(name, fn) {
  if (ONLY && !ONLY.test(name) && !name.startsWith('sign in')) {
    results.push({ name, ok: true, skipped: true });
    console.log(`-     ${name} (not run: C19AI_WEB_ONLY)`);
    return;
  }
  // Journeys build on each other: after a failure the rest are reported as skipped.
  if (results.some((r) => !r.ok)) {
    results.push({ name, ok: false, skipped: true });
    console.log(`SKIP  ${name}`);
    return;
  }
  const t0 = Date.now();
  const before = problems.length;
  try {
    await fn();
    const fresh = problems.slice(before);
    if (fresh.length) throw new Error('browser problems:\n  ' + fresh.join('\n  '));
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`ok    ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: e });
    console.log(`FAIL  ${name}\n      ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n      ')}`);
    try {
      await screenshot('FAILED-' + name.replace(/[^a-z0-9]+/gi, '-'));
    } catch {
      // no page to capture
    }
  }
}

// ------------------------------------------------------------------------------------------- journeys

let adminToken = '';

await journey('sign in (errors shown, then dashboard)', async () => {
  await go('/');
  await page.getByRole('heading', { name: 'Sign in to C19 AI' }).waitFor();
  await screenshot('login');
  await signIn('admin', 'wrong-password-123');
  await expectText(page.getByRole('alert'), /invalid|incorrect|password|credentials/i, 'the API error message is shown');
  await screenshot('login-error');
  await signIn('admin', ADMIN_PASSWORD);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  // Tokens: the access token is in memory only; only the refresh token is in sessionStorage, nothing in localStorage.
  const storage = await page.evaluate(() => ({ local: localStorage.length, session: Object.keys(sessionStorage) }));
  expect(storage.local === 0, 'localStorage is empty');
  expect(storage.session.length === 1 && storage.session[0] === 'c19ai.refresh_token', 'only the refresh token is kept');
  adminToken = await apiLogin('admin', ADMIN_PASSWORD);
});

await journey('dashboard: health and live events over WebSocket', async () => {
  // The server acknowledged the dashboard's room subscriptions.
  await page.locator('.live-live[data-rooms~="models"]').waitFor();
  await page.getByRole('heading', { name: 'System health' }).waitFor();
  await expectText(page.locator('.card', { hasText: 'System health' }).locator('.badge'), /ready/, 'readiness is shown');
  // A change made elsewhere (here: through the API) appears in the live feed without a reload.
  const r = await apiCall(adminToken, 'POST', '/api/v1/models', { name: 'events-probe', framework: 'xgboost' });
  expect(r.status === 201, 'model created through the API');
  await page.getByTestId('events').getByText('model.created').waitFor();
  await page.getByTestId('stat-models').filter({ hasText: '1' }).waitFor();
  // The page survives a reload (the refresh token in sessionStorage restores the session).
  await page.reload();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.getByTestId('stat-models').waitFor();
  await page.getByRole('list', { name: 'Dependencies' }).getByText('database').waitFor();
  // Recent events are replayed from the server's history after the reload.
  await page.getByTestId('events').getByText('model.created').waitFor();
  await page.locator('.live-live').waitFor();
  await screenshot('dashboard');
});

await journey('files: upload with progress, list, text not HTML', async () => {
  await go('/files');
  await page.getByRole('heading', { name: 'Upload a file' }).waitFor();
  await page.getByText('No file yet.').waitFor();
  await page.getByLabel('File', { exact: true }).setInputFiles(path.join(fixtures, 'notes.csv'));
  await page.getByLabel('Key', { exact: true }).fill(`reports/${XSS}.csv`);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.getByText(`Uploaded reports/${XSS}.csv`, { exact: false }).waitFor();
  // The folder shows; inside it, the file whose key contains markup is rendered as text.
  await go('/files');
  await page.getByRole('button', { name: /reports\// }).click();
  await page.getByRole('rowheader', { name: `${XSS}.csv` }).waitFor();
  expect((await page.locator('main img, main b').count()) === 0, 'no HTML was injected from a file key');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: `Download reports/${XSS}.csv` }).click(),
  ]);
  const got = fs.readFileSync(await download.path(), 'utf8');
  expect(got === 'a,b\n1,<b>not html</b>\n', `the downloaded file matches (got ${JSON.stringify(got)})`);
  expect(download.suggestedFilename().endsWith('.csv'), `download name ${download.suggestedFilename()}`);
  await screenshot('files');
});

await journey('datasets: upload, profile with histograms, schema, validation report, drift', async () => {
  await go('/datasets');
  await page.getByText('No dataset yet.', { exact: false }).waitFor();
  await page.getByLabel('Data file').setInputFiles(path.join(fixtures, 'iris.csv'));
  await page.getByLabel('Dataset name', { exact: true }).first().fill('iris');
  await page.getByRole('button', { name: 'Upload dataset' }).click();
  await page.getByRole('heading', { name: 'Dataset iris v1' }).waitFor();
  await expectText(page.getByTestId('profile-summary'), /150 rows/, 'the profile counts the rows');
  await page.locator('figure', { hasText: 'Histogram of sepal_length' }).locator('.u-over').waitFor();
  await page.getByRole('list', { name: 'Top values of species' }).getByText('setosa: 50').waitFor();
  await page.getByRole('button', { name: 'Infer from the data' }).click();
  await page.getByText('Inferred 5 fields from the data.', { exact: false }).waitFor();
  await expect((await page.getByLabel('Field 1 name').inputValue()) === 'sepal_length', 'inferred field names');
  // A rule most rows break: the report lists the failing rows with the API's messages.
  await page.getByLabel('Field 1 constraints').fill('[{"type": "range", "max": 5.2}]');
  await page.getByRole('button', { name: 'Validate' }).click();
  const report = page.getByTestId('validation-report');
  await report.getByText('invalid').waitFor();
  await report.getByRole('cell', { name: 'range' }).first().waitFor();
  await screenshot('dataset-profile-validation');
  // Bad JSON in a constraint is caught before the request.
  await page.getByLabel('Field 1 constraints').fill('[{"type": ');
  await page.getByRole('button', { name: 'Validate' }).click();
  await expectText(page.locator('.card', { hasText: 'Schema and validation' }).getByRole('alert'), /Field 1 constraints/, 'the field is named');
  await page.getByLabel('Field 1 constraints').fill('[]');
  await page.getByRole('button', { name: 'Save schema' }).click();
  await page.getByText('Saved schema iris-schema version 1.').waitFor();
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.getByTestId('drift-report').getByText('no_drift').waitFor();
  await screenshot('dataset-drift');
  await page.locator('.card', { hasText: 'Outliers' }).getByRole('rowheader', { name: 'sepal_width' }).waitFor();
  await page.getByLabel('Cleaning rules (JSON)').fill('[{"op": "deduplicate"}]');
  await page.getByRole('button', { name: 'Clean iris v1' }).click();
  await expectText(page.getByTestId('clean-summary'), /150 rows in, 150 out, 0 rejected/, 'the cleaning summary is shown');
  await page.getByTestId('clean-summary').getByRole('link', { name: 'iris v2' }).click();
  await page.getByRole('heading', { name: 'Dataset iris v2' }).waitFor();
  await go('/datasets');
  await page.getByRole('link', { name: 'iris' }).first().waitFor();
  await screenshot('datasets');
});

await journey('models: register a model and upload a version', async () => {
  await go('/models');
  await page.getByRole('button', { name: 'Register a model' }).click();
  const form = page.locator('.card', { hasText: 'Register a model' });
  await form.getByLabel('Name', { exact: true }).fill(MODEL);
  await form.getByLabel('Description').fill('Iris-like binary classifier');
  await form.getByLabel('Model type').selectOption('classification');
  await form.getByLabel('Framework', { exact: true }).selectOption('xgboost');
  await form.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByRole('heading', { name: `Model ${MODEL}` }).waitFor();
  await page.getByText('This model has no version yet').waitFor();
  await page.getByLabel('Artifact file').setInputFiles(path.join(fixtures, 'model.json'));
  await page.getByLabel('Metadata (JSON, optional)').fill(JSON.stringify({ metrics: { accuracy: 0.93 }, description: 'first' }));
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.getByText(/Uploaded version 1/).waitFor();
  await page.getByTestId('version-1').waitFor();
  await expectText(page.getByTestId('version-1'), /accuracy: 0\.93/, 'metrics are listed');
  await page.getByRole('button', { name: 'Edit name, description or tags' }).click();
  await page.getByLabel('Model tags').fill('team=vision, demo');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('team=vision', { exact: true }).waitFor();
  // A bad upload shows the API's message.
  await page.getByLabel('Artifact file').setInputFiles(path.join(fixtures, 'notes.csv'));
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.locator('.card', { hasText: 'Upload a version' }).getByRole('alert').waitFor();
  await screenshot('model-detail-uploaded');
  await go('/models');
  await page.getByRole('link', { name: MODEL }).waitFor();
  await page.getByRole('textbox', { name: 'Search' }).fill('iris');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'events-probe' }).waitFor({ state: 'detached' });
  await screenshot('models');
});

await journey('models: promote to production, alias, integrity check, history', async () => {
  await go(`/models/${MODEL}`);
  await page.getByRole('button', { name: 'Details of version 1' }).click();
  await page.getByLabel('Stage of version 1').selectOption('production');
  await page.getByRole('button', { name: 'Apply stage' }).click();
  await page.getByText('Version 1 is now in production.').waitFor();
  await page.getByTestId('production-version').filter({ hasText: 'v1' }).waitFor();
  await page.getByLabel('Alias', { exact: true }).fill('champion');
  await page.getByRole('button', { name: 'Set alias' }).click();
  await page.getByText('Alias champion now points at v1.').waitFor();
  await page.getByRole('button', { name: 'Verify version 1' }).click();
  await page.getByText(/Integrity check: OK/).waitFor();
  await page.locator('.card', { hasText: 'History' }).getByRole('cell', { name: 'production' }).first().waitFor();
  await screenshot('model-detail-promoted');
  // A second version promoted (the first is archived), then a rollback brings v1 back.
  await page.getByLabel('Artifact file').setInputFiles(path.join(fixtures, 'model.json'));
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.getByText(/Uploaded version 2/).waitFor();
  await page.getByRole('button', { name: 'Details of version 2' }).click();
  await page.getByLabel('Stage of version 2').selectOption('production');
  await page.getByRole('button', { name: 'Apply stage' }).click();
  await page.getByTestId('production-version').filter({ hasText: 'v2' }).waitFor();
  await page.getByTestId('version-1').getByText('archived').waitFor();
  await page.getByLabel('Reason').fill('v2 regressed');
  await page.getByRole('button', { name: 'Roll back', exact: true }).click();
  await page.getByText('Version 1 is in production now.').waitFor();
  await page.getByTestId('production-version').filter({ hasText: 'v1' }).waitFor();
  await page.getByRole('cell', { name: 'v2 regressed' }).first().waitFor();
});

await journey('deployments: deploy with batching settings', async () => {
  await go('/deployments');
  await page.getByRole('button', { name: 'Deploy a model' }).click();
  await page.getByLabel('Model', { exact: true }).selectOption(MODEL);
  await page.getByLabel('Max batch size').fill('8');
  await page.getByLabel('Max queue delay (µs)').fill('1000');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.getByText(`${MODEL} is deployed, serving v1.`).waitFor();
  await expectText(page.getByTestId(`deployment-${MODEL}`), /max batch 8/, 'batching settings are listed');
  await screenshot('deployments');
});

await journey('playground: predict from the signature form, then live charts', async () => {
  await go(`/playground?model=${MODEL}`);
  await page.getByLabel('Row 1 value 4').waitFor();
  const values = ['1.5', '0.5', '-0.2', '0.3'];
  for (let i = 0; i < 4; i++) await page.getByLabel(`Row 1 value ${i + 1}`).fill(values[i]);
  await page.getByRole('button', { name: 'Predict' }).click();
  await page.getByTestId('prediction').waitFor();
  await expectText(page.getByTestId('latency'), /\d.* ms/, 'latency is shown');
  await screenshot('playground');
  // A malformed request shows the API's message.
  await page.getByRole('button', { name: 'JSON' }).click();
  await page.getByLabel('Request body (JSON)').fill('{"inputs": [[1, 2]]}');
  await page.getByRole('button', { name: 'Predict' }).click();
  await page.locator('.card', { hasText: 'Request' }).getByRole('alert').waitFor();
  // Traffic for the charts.
  await go('/deployments');
  await page.locator('.card', { hasText: 'Live traffic' }).waitFor();
  const load = (async () => {
    for (let i = 0; i < 30; i++) {
      await apiCall(adminToken, 'POST', `/api/v1/models/${MODEL}/predict`, { inputs: [[i / 10, 0.1, 0.2, 0.3]] });
      await sleep(150);
    }
  })();
  await page.locator('.chart .u-over').first().waitFor({ timeout: 20_000 });
  await load;
  await sleep(2500);
  await screenshot('deployments-live-charts');
});

await journey('training: submit from the form, live chart, cancel and resume, promote, predict, compare', async () => {
  const up = await fetch(base + '/api/v1/datasets?name=flowers', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + adminToken, 'Content-Type': 'text/csv' },
    body: fs.readFileSync(path.join(fixtures, 'flowers.csv')),
  });
  expect(up.status === 201, `flowers dataset uploaded (${up.status})`);
  await go('/datasets');
  await page.getByRole('link', { name: 'flowers' }).click();
  await page.getByRole('heading', { name: 'Dataset flowers v1' }).waitFor();
  await page.getByRole('link', { name: 'Train a model' }).click();
  await page.getByRole('heading', { name: 'New training job' }).waitFor();
  await expect((await page.getByLabel('Target column').inputValue()) === 'species', 'the last column is the default target');
  await page.getByLabel('Job name').fill('flowers-mlp');
  await page.locator('.card', { hasText: 'New training job' }).getByLabel('Experiment').fill('flowers');
  await page.getByLabel('Hidden layers').fill('128, 128');
  await page.getByLabel('Learning rate', { exact: true }).fill('0.001');
  await page.getByLabel('Epochs', { exact: true }).fill('200');
  await page.getByLabel('Batch size').fill('16');
  await page.getByLabel('Stop early when the validation loss stalls').uncheck();
  await page.getByLabel('Model name').fill('flowers-model');
  await screenshot('training-form');
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByRole('heading', { name: 'Training flowers-mlp' }).waitFor();
  // The chart moves: its epoch count grows while the page stays open (events over the WebSocket).
  const charts = page.getByTestId('training-charts');
  await charts.waitFor({ timeout: 60_000 });
  const n1 = Number(await charts.getAttribute('data-epochs'));
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="training-charts"]')?.getAttribute('data-epochs')) > n,
    n1,
    { timeout: 60_000 },
  );
  await screenshot('training-live');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByTestId('job-status').getByText('cancelled').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 180_000 });
  await expectText(page.getByTestId('job-model'), /flowers-model v1/, 'the best model is registered');
  await page.getByLabel('Job logs, newest first').getByText(/epoch 200\/200/).waitFor();
  await screenshot('training-done');
  // Promote the trained model and predict with it from the feature form.
  await page.getByTestId('job-model').getByRole('link').click();
  await page.getByRole('heading', { name: 'Model flowers-model' }).waitFor();
  await page.getByRole('button', { name: 'Details of version 1' }).click();
  await page.getByLabel('Stage of version 1').selectOption('production');
  await page.getByRole('button', { name: 'Apply stage' }).click();
  await page.getByTestId('production-version').filter({ hasText: 'v1' }).waitFor();
  await go('/playground?model=flowers-model');
  await page.getByLabel('Row 1 petal_width').waitFor();
  const row = { sepal_length: '5.0', sepal_width: '3.4', petal_length: '1.4', petal_width: '0.2' };
  for (const [k, v] of Object.entries(row)) await page.getByLabel(`Row 1 ${k}`).fill(v);
  await page.getByRole('button', { name: 'Predict' }).click();
  await page.getByTestId('prediction').getByRole('cell', { name: 'setosa', exact: true }).first().waitFor();
  await screenshot('playground-trained-model');
  // A second run in the same experiment (boosted trees, through the API), then both compared.
  const r = await apiCall(adminToken, 'POST', '/api/v1/training/jobs', {
    name: 'flowers-gbtree', experiment: 'flowers', dataset: 'flowers', target: 'species',
    model: { model_type: 'classification', framework: 'xgboost', architecture: 'gbtree', params: { num_rounds: 20, max_depth: 3 } },
  });
  expect(r.status === 202, `second job queued (${r.status})`);
  await go('/training?experiment=flowers');
  await page.getByTestId('job-flowers-gbtree').getByText('succeeded').waitFor({ timeout: 120_000 });
  await page.getByLabel('Compare flowers-mlp').check();
  await page.getByLabel('Compare flowers-gbtree').check();
  await page.getByRole('heading', { name: 'Compare runs' }).waitFor();
  await page.locator('.card', { hasText: 'Compare runs' }).locator('.u-over').waitFor();
  await screenshot('training-compare');
});

await journey('experiments and sweeps: register a model, sweep from the form (field error, live trials), compare, archive', async () => {
  const up = await fetch(base + '/api/v1/datasets?name=blobs', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + adminToken, 'Content-Type': 'text/csv' },
    body: fs.readFileSync(path.join(fixtures, 'blobs.csv')),
  });
  expect(up.status === 201, `blobs dataset uploaded (${up.status})`);
  // One job trained from the form (no model registered yet).
  await go('/training?dataset=blobs');
  await page.getByRole('heading', { name: 'New training job' }).waitFor();
  expect((await page.getByLabel('Target column').inputValue()) === 'label', 'the last column is the default target');
  await page.getByLabel('Job name').fill('blobs-base');
  await page.locator('.card', { hasText: 'New training job' }).getByLabel('Experiment').fill('blobs');
  await page.getByLabel('Hidden layers').fill('16');
  await page.getByLabel('Learning rate', { exact: true }).fill('0.01');
  await page.getByLabel('Epochs', { exact: true }).fill('30');
  await page.getByLabel('Batch size').fill('8');
  await page.getByLabel('Stop early when the validation loss stalls').uncheck();
  await page.getByLabel('Register the best model').uncheck();
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByRole('heading', { name: 'Training blobs-base' }).waitFor();
  await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 120_000 });
  await expectText(page.getByTestId('job-model'), /—/, 'no model registered yet');
  // "Register model" on a succeeded job's page.
  await page.getByRole('button', { name: 'Register model' }).click();
  await page.locator('.card', { hasText: 'Register the model' }).getByLabel('Model name').fill('blobs-model');
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByText('Registered as blobs-model v1.').waitFor();
  await expectText(page.getByTestId('job-model'), /blobs-model v1/, 'the job links its registered model');
  await screenshot('training-register-model');

  // The sweep form, started from this job. First a mistake the server refuses: a range in a grid search.
  await page.getByRole('link', { name: 'Sweep from this job' }).click();
  await page.getByRole('heading', { name: 'New sweep' }).waitFor();
  await page.getByLabel('Base job').locator('option', { hasText: 'blobs-base' }).waitFor({ state: 'attached' });
  const jobId = await page.getByLabel('Base job').inputValue();
  expect(/^[0-9a-f-]{20,}$/.test(jobId), `the base job is preselected (${jobId})`);
  await page.getByLabel('Sweep name').fill('blobs-lr');
  expect((await page.getByLabel('Parameter 1 path').inputValue()) === 'optimizer.lr', 'optimizer.lr is the first parameter');
  await page.getByLabel('Parameter 1 kind').selectOption('range');
  await page.getByLabel('Parameter 1 min').fill('0.001');
  await page.getByLabel('Parameter 1 max').fill('0.1');
  expect((await page.getByLabel('Objective metric').inputValue()) === 'accuracy', "the objective defaults to the job's metric");
  await page.getByRole('button', { name: 'Start sweep' }).click();
  const row1 = page.getByTestId('param-row-1');
  await expectText(row1.locator('.field-error'), /grid search takes lists of values/, 'the API error is shown next to the parameter');
  expect((await page.getByLabel('Parameter 1 path').getAttribute('aria-invalid')) === 'true', 'the parameter is marked invalid');
  await expectText(page.locator('.card', { hasText: 'New sweep' }).getByRole('alert'), /check the marked field/, 'the form says why');
  await screenshot('sweep-form-field-error');
  // Fixed: a grid over two learning rates, one trial at a time, the best model registered.
  await page.getByLabel('Parameter 1 kind').selectOption('values');
  await page.getByLabel('Parameter 1 values').fill('0.001, 0.1');
  await page.getByLabel('Max trials').fill('2');
  await page.getByLabel('Parallelism').fill('1');
  await page.getByLabel("Register the best trial's model").check();
  await page.getByLabel('Model name').fill('blobs-best');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await page.getByRole('heading', { name: 'Sweep blobs-lr' }).waitFor();
  // Followed live: the trials finish one after the other while the page stays open (room training.<sweep>).
  await page.locator('.live-live[data-rooms*="training."]').waitFor();
  await page.getByTestId('trial-2').waitFor();
  await page.getByTestId('sweep-status').getByText('succeeded').waitFor({ timeout: 120_000 });
  const events = page.getByTestId('sweep-events');
  await events.getByText('trial_finished', { exact: true }).first().waitFor();
  await events.getByText('finished', { exact: true }).waitFor();
  for (const t of [1, 2]) await page.getByTestId(`trial-${t}`).getByText('succeeded').waitFor();
  expect((await page.locator('[data-testid^="trial-"] .badge', { hasText: 'best' }).count()) === 1, 'one trial is marked best');
  await expectText(page.getByTestId('sweep-model'), /blobs-best v1/, "the best trial's model is registered");
  await screenshot('sweep-detail');
  await go('/sweeps');
  await page.getByTestId('sweep-blobs-lr').getByText('succeeded').waitFor();
  await screenshot('sweeps');

  // The experiment: its runs, a parameter filter, sorting by a metric, then two runs compared.
  await go('/experiments');
  await page.getByTestId('experiment-blobs').getByText('succeeded 3').waitFor();
  await screenshot('experiments');
  await page.getByRole('link', { name: 'blobs', exact: true }).click();
  await page.getByRole('heading', { name: 'Experiment blobs' }).waitFor();
  for (const run of ['blobs-base', 'blobs-lr #1', 'blobs-lr #2']) await page.getByTestId(`run-${run}`).waitFor();
  await page.getByLabel('Parameter', { exact: true }).fill('optimizer.lr');
  await page.getByLabel('Parameter value').fill('0.1');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.getByTestId('run-blobs-base').waitFor({ state: 'detached' });
  expect((await page.locator('[data-testid^="run-"]').count()) === 1, 'the parameter filter leaves one run');
  await page.getByTestId('run-blobs-lr #2').waitFor();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByTestId('run-blobs-base').waitFor();
  await page.getByLabel('Sort by').selectOption('accuracy');
  await page.getByLabel('Order').selectOption('asc');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.waitForFunction(() => {
    const v = [...document.querySelectorAll('[data-testid^="run-"] td:nth-of-type(4)')].map((td) => Number(td.textContent));
    return v.length === 3 && v.every((x, i) => i === 0 || v[i - 1] <= x);
  });
  await page.getByLabel('Select blobs-lr #1').check();
  await page.getByLabel('Select blobs-lr #2').check();
  await screenshot('experiment-runs');
  await page.getByRole('button', { name: 'Compare selected runs (2)' }).click();
  await page.getByRole('heading', { name: 'Compare runs of blobs' }).waitFor();
  const chart = page.getByTestId('compare-chart');
  await chart.locator('.u-over').waitFor();
  expect((await chart.getAttribute('data-series')) === '2', 'two curves are drawn');
  expect(Number(await chart.getAttribute('data-epochs')) === 30, 'one point per epoch');
  await expectText(page.getByTestId('param-optimizer.lr'), /differs/, 'the differing parameter is marked');
  expect((await page.getByTestId('param-batch_size').getByText('differs').count()) === 0, 'equal parameters are not marked');
  await page.getByLabel('Curve metric').selectOption('val_loss');
  await page.locator('[data-testid="compare-chart"][data-metric="val_loss"] .u-over').waitFor();
  await page.getByRole('region', { name: 'Best metrics' }).getByRole('rowheader', { name: 'accuracy' }).waitFor();
  await screenshot('experiment-compare');
  // Archived: gone from the list until "show archived".
  await page.getByRole('link', { name: '← Experiment blobs' }).click();
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  await page.getByText('Experiment blobs was archived.').waitFor();
  await go('/experiments');
  await page.getByLabel('Show archived experiments').check();
  await page.getByTestId('experiment-blobs').getByText('archived').waitFor();
  await page.getByRole('button', { name: 'Unarchive blobs' }).waitFor();
  await screenshot('experiments-archived');
  await page.getByLabel('Show archived experiments').uncheck();
  await page.getByTestId('experiment-blobs').waitFor({ state: 'detached' });
});

/** Uploads a fixture as a dataset through the API unless that name exists. */
async function ensureDataset(name, file) {
  const have = await apiCall(adminToken, 'GET', `/api/v1/datasets/${name}`);
  if (have.status === 200) return;
  const up = await fetch(`${base}/api/v1/datasets?name=${name}`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + adminToken, 'Content-Type': 'text/csv' },
    body: fs.readFileSync(path.join(fixtures, file)),
  });
  expect(up.status === 201, `${name} dataset uploaded (${up.status})`);
}

await journey('playground: k-means cluster with distances, V2 protocol, autoencoder embed and search', async () => {
  // The CSV is uploaded from the datasets screen.
  await go('/datasets');
  await page.getByLabel('Data file').setInputFiles(path.join(fixtures, 'points.csv'));
  await page.getByLabel('Dataset name', { exact: true }).first().fill('points');
  await page.getByRole('button', { name: 'Upload dataset' }).click();
  await page.getByRole('heading', { name: 'Dataset points v1' }).waitFor();
  // k-means from the training form: no target field, its own params and metrics; a bad k is named next to it.
  await page.getByRole('link', { name: 'Train a model' }).click();
  await page.getByRole('heading', { name: 'New training job' }).waitFor();
  const jobForm = page.locator('.card', { hasText: 'New training job' });
  await page.getByLabel('Model', { exact: true }).selectOption('kmeans');
  await expectText(page.getByTestId('model-type'), /clustering \(framework kmeans\)/, 'k-means sets the model type and framework');
  expect((await page.getByLabel('Target column').count()) === 0, 'k-means has no target field');
  expect((await page.getByLabel('Learning rate', { exact: true }).count()) === 0, 'k-means has no optimizer');
  expect((await page.getByLabel('Gaussian noise').count()) === 0, 'augmentation is for the MLP only');
  const kmMetrics = await page.getByLabel('Validation metric').locator('option').allInnerTexts();
  expect(JSON.stringify(kmMetrics) === '["silhouette","inertia"]', `k-means metrics (got ${JSON.stringify(kmMetrics)})`);
  await page.getByLabel('Job name').fill('points-kmeans');
  await page.getByLabel('Leave out kind').check();
  await page.getByLabel('Clusters (k)').fill('5000');
  await page.getByLabel('Runs (n_init)').fill('2');
  await page.getByLabel('Model name').fill('points-clusters');
  await screenshot('training-form-kmeans');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expectText(jobForm.locator('.field', { hasText: 'Clusters (k)' }).locator('.field-error'), /k must be/, 'the API error is shown next to k');
  await page.getByLabel('Clusters (k)').fill('3');
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByRole('heading', { name: 'Training points-kmeans' }).waitFor();
  await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 120_000 });
  await expectText(page.getByTestId('job-model'), /points-clusters v1/, 'the k-means model is registered');
  {
    const jobs = await apiCall(adminToken, 'GET', '/api/v1/training/jobs?limit=100');
    const spec = (jobs.json.items ?? []).find((j) => j.name === 'points-kmeans')?.spec ?? {};
    expect(spec.model?.architecture === 'kmeans' && spec.model?.model_type === 'clustering' && !spec.target, `k-means spec (got ${JSON.stringify(spec.model)}, target ${JSON.stringify(spec.target)})`);
    expect(JSON.stringify(spec.exclude) === '["kind"]' && spec.model?.params?.k === 3 && spec.model?.params?.n_init === 2, `k-means params and exclude (got ${JSON.stringify(spec.model?.params)}, ${JSON.stringify(spec.exclude)})`);
  }
  // The autoencoder from the form too: torch sections, no target, val_loss only.
  await go('/training?dataset=points');
  await page.getByRole('heading', { name: 'New training job' }).waitFor();
  await page.getByLabel('Model', { exact: true }).selectOption('autoencoder');
  await expectText(page.getByTestId('model-type'), /embedding \(framework torch\)/, 'the autoencoder sets the model type and framework');
  expect((await page.getByLabel('Target column').count()) === 0, 'the autoencoder has no target field');
  expect((await page.getByLabel('Gaussian noise').count()) === 0, 'augmentation is for the MLP only');
  const aeMetrics = await page.getByLabel('Validation metric').locator('option').allInnerTexts();
  expect(JSON.stringify(aeMetrics) === '["val_loss"]', `autoencoder metrics (got ${JSON.stringify(aeMetrics)})`);
  await page.getByLabel('Job name').fill('points-ae');
  await page.getByLabel('Leave out kind').check();
  await page.getByLabel('Hidden layers').fill('8');
  await page.getByLabel('Embedding size').fill('2');
  await page.getByLabel('Epochs', { exact: true }).fill('3');
  await page.getByLabel('Batch size').fill('16');
  await page.getByLabel('Model name').fill('points-embed');
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByRole('heading', { name: 'Training points-ae' }).waitFor();
  await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 120_000 });
  await expectText(page.getByTestId('job-model'), /points-embed v1/, 'the autoencoder model is registered');

  // k-means: the predicted cluster and the distance to each centroid.
  await go('/playground?model=points-clusters');
  await page.getByLabel('Version', { exact: true }).selectOption('latest');
  for (const [f, v] of [['a', '0.5'], ['b', '0.5'], ['c', '0.5']]) await page.getByLabel(`Row 1 ${f}`).fill(v);
  await page.getByRole('button', { name: 'Predict' }).click();
  const out = page.getByTestId('prediction');
  await out.getByRole('columnheader', { name: 'Cluster' }).waitFor();
  for (const j of [0, 1, 2]) await out.getByRole('columnheader', { name: `Distance to centroid ${j}` }).waitFor();
  await expectText(page.getByTestId('output-row-1'), /\(nearest\)/, 'the nearest centroid is marked');
  const cluster = (await page.getByTestId('output-row-1').locator('td').nth(1).innerText()).trim();
  expect(/^[0-2]$/.test(cluster), `a cluster number is shown (got ${cluster})`);
  await screenshot('playground-clustering');
  // The same rows through the Open Inference Protocol: the raw V2 answer and its tensors.
  await page.getByLabel('Send through the Open Inference Protocol (V2)').check();
  await page.getByRole('button', { name: 'Predict' }).click();
  const v2 = page.getByTestId('v2-response');
  await v2.getByRole('rowheader', { name: 'cluster' }).waitFor();
  await v2.getByRole('rowheader', { name: 'distances' }).waitFor();
  await expectText(v2.getByLabel('Raw V2 response'), /"model_name": "points-clusters"/, 'the raw V2 answer is shown');
  await expectText(v2.getByRole('rowheader', { name: 'cluster' }).locator('xpath=..'), new RegExp(`\\[${cluster}\\]`), 'V2 gives the same cluster');
  await screenshot('playground-v2');
  // A V2 error ({"error": "..."}) shows its message.
  await page.getByRole('button', { name: 'JSON' }).click();
  await page.getByLabel('Request body (JSON)').fill('{"inputs": [{"name": "zz", "shape": [1], "datatype": "FP64", "data": [1]}]}');
  await page.getByRole('button', { name: 'Predict' }).click();
  await expectText(page.locator('.card', { hasText: 'Request' }).getByRole('alert'), /missing input "a"/, 'the V2 error message is shown');

  // Autoencoder: embed a row, then its nearest rows of the dataset with the records.
  await go('/playground?model=points-embed');
  await page.getByLabel('Version', { exact: true }).selectOption('latest');
  for (const [f, v] of [['a', '3.5'], ['b', '-1.5'], ['c', '0.5']]) await page.getByLabel(`Row 1 ${f}`).fill(v);
  await page.getByRole('button', { name: 'Embed' }).click();
  await expectText(page.getByTestId('embeddings').getByRole('cell').nth(1), /^\[-?\d.*, -?\d.*\]$/, 'a 2-d vector is shown');
  await page.getByLabel('Dataset', { exact: true }).selectOption('points');
  await page.getByLabel('Neighbours (k)').fill('0');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expectText(page.locator('.field', { hasText: 'Neighbours (k)' }).locator('.field-error'), /k/, 'the API error is shown next to k');
  await page.getByLabel('Neighbours (k)').fill('3');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const hits = page.getByTestId('search-results');
  await hits.getByRole('columnheader', { name: 'Distance' }).waitFor();
  await hits.getByRole('columnheader', { name: 'kind' }).waitFor();
  expect((await hits.locator('[data-testid^="hit-1-"]').count()) === 3, 'three nearest rows are listed');
  const first = await page.getByTestId('hit-1-1').locator('td').allInnerTexts();
  expect(/^\d+$/.test(first[0]) && Number(first[1]) >= 0 && /^[xyz]$/.test(first[5]), `row, distance and record: ${JSON.stringify(first)}`);
  await screenshot('playground-embedding-search');
});

const generation = await apiCall(adminToken, 'GET', '/api/v1/openapi.json');
if (generation.json && generation.json.paths && generation.json.paths['/api/v1/models/{name}/generate']) {
  await journey('playground: char_rnn generation, the same seed gives the same text', async () => {
    await ensureDataset('lines', 'lines.csv');
    // char_rnn from the training form: the text column, its params and metrics; a bad sequence length named next to it.
    await go('/training?dataset=lines');
    await page.getByRole('heading', { name: 'New training job' }).waitFor();
    const jobForm = page.locator('.card', { hasText: 'New training job' });
    await page.getByLabel('Model', { exact: true }).selectOption('char_rnn');
    await expectText(page.getByTestId('model-type'), /generation \(framework torch\)/, 'char_rnn sets the model type and framework');
    expect((await page.getByLabel('Text column').inputValue()) === 'text', 'the text column is the target');
    expect((await page.getByLabel('Attention heads').count()) === 0, 'heads are for the transformer only');
    expect((await page.getByLabel('Gaussian noise').count()) === 0, 'augmentation is for the MLP only');
    const genMetrics = await page.getByLabel('Validation metric').locator('option').allInnerTexts();
    expect(JSON.stringify(genMetrics) === '["val_loss","perplexity"]', `generation metrics (got ${JSON.stringify(genMetrics)})`);
    await page.getByLabel('Job name').fill('lines-rnn');
    await page.getByLabel('Hidden size').fill('32');
    await page.getByLabel('Layers', { exact: true }).fill('1');
    await page.getByLabel('Embedding size').fill('8');
    await page.getByLabel('Sequence length').fill('1');
    await page.getByLabel('Epochs', { exact: true }).fill('2');
    await page.getByLabel('Batch size').fill('16');
    await page.getByLabel('Validation metric').selectOption('perplexity');
    await page.getByLabel('Model name').fill('lines-rnn');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expectText(jobForm.locator('.field', { hasText: 'Sequence length' }).locator('.field-error'), /seq_len/, 'the API error is shown next to the sequence length');
    await page.getByLabel('Sequence length').fill('16');
    await screenshot('training-form-char-rnn');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: 'Training lines-rnn' }).waitFor();
    await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 180_000 });
    await expectText(page.getByTestId('job-model'), /lines-rnn v1/, 'the char_rnn model is registered');
    {
      const jobs = await apiCall(adminToken, 'GET', '/api/v1/training/jobs?limit=100');
      const spec = (jobs.json.items ?? []).find((j) => j.name === 'lines-rnn')?.spec ?? {};
      expect(spec.target === 'text' && spec.model?.architecture === 'char_rnn' && spec.model?.params?.seq_len === 16, `char_rnn spec (got ${JSON.stringify(spec)})`);
    }
    await go('/playground?model=lines-rnn');
    await page.getByLabel('Version', { exact: true }).selectOption('latest');
    await page.getByLabel('Prompt', { exact: true }).fill('the ');
    await page.getByLabel('Max tokens').fill('0');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expectText(page.locator('.field', { hasText: 'Max tokens' }).locator('.field-error'), /max_tokens/, 'the API error is shown next to the field');
    await page.getByLabel('Max tokens').fill('40');
    await page.getByLabel('Temperature').fill('0.8');
    await page.getByLabel('Top-k').fill('5');
    await page.getByLabel('Seed').fill('42');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expectText(page.getByTestId('generated-tokens'), /^40$/, '40 characters generated');
    const text1 = await page.getByTestId('generated-text').innerText();
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByTestId('generated-text').waitFor();
    const text2 = await page.getByTestId('generated-text').innerText();
    expect(text1.length > 0 && text1 === text2, `the same seed gives the same text (${JSON.stringify(text1)} vs ${JSON.stringify(text2)})`);
    await screenshot('playground-generation');
  });
}

await journey('validation: inline records with a failing row, GX suite import, background run', async () => {
  await ensureDataset('points', 'points.csv');
  await go('/validation');
  // Import a Great Expectations suite from a file: the expectation that cannot run is listed.
  await page.getByLabel('Suite file (JSON)').setInputFiles(path.join(fixtures, 'points-suite.json'));
  await page.waitForFunction(() => [...document.querySelectorAll('textarea')].some((t) => t.value.includes('points-suite')));
  await page.getByRole('button', { name: 'Import suite' }).click();
  await page.getByText('Imported schema points-suite version 1.').waitFor();
  await page.getByRole('list', { name: 'Unsupported expectations' }).getByText('expect_column_kl_divergence_to_be_less_than').waitFor();
  await page.getByTestId('import-result').getByRole('cell', { name: 'expect_column_values_to_be_between' }).waitFor();
  await page.getByTestId('schema-points-suite').waitFor();
  await screenshot('validation-gx-import');
  // Records against the stored suite: the second breaks the range and shows as row 2.
  await page.getByLabel('Rules from').selectOption('stored');
  await page.getByLabel('Schema', { exact: true }).selectOption('points-suite');
  await page.getByLabel('Records (JSON)').fill('[{"a": 1.5, "kind": "x"}, {"a": 9, "kind": "y"}]');
  await page.getByRole('button', { name: 'Validate records' }).click();
  const report = page.getByTestId('validation-report');
  await report.getByText('invalid').waitFor();
  const failing = report.getByRole('region', { name: 'Failing rows' }).getByRole('row').filter({ hasText: 'range' });
  expect((await failing.count()) === 1, 'one failing record');
  const cells = await failing.locator('td').allInnerTexts();
  expect(cells[0] === '2' && cells[1] === 'a' && cells[3] === '9', `the failing row is record 2, field a, value 9: ${JSON.stringify(cells)}`);
  await screenshot('validation-records');
  // Bad records are named next to the field; a schema the API refuses shows its message next to the schema.
  await page.getByLabel('Records (JSON)').fill('[{"a": ');
  await page.getByRole('button', { name: 'Validate records' }).click();
  await expectText(page.locator('.field', { hasText: 'Records (JSON)' }).locator('.field-error'), /not valid JSON/, 'bad JSON is named');
  await page.getByLabel('Rules from').selectOption('json');
  await page.getByLabel('Schema (JSON)').fill('{"name": "s", "fields": [{"name": "a", "data_type": "integr"}]}');
  await page.getByLabel('Records (JSON)').fill('[{"a": 1}]');
  await page.getByRole('button', { name: 'Validate records' }).click();
  await expectText(page.locator('.field', { hasText: 'Schema (JSON)' }).locator('.field-error'), /data_type/, "the API's message is next to the schema");
  // The dataset against the imported suite, as a background run followed to its report.
  await go('/datasets/points');
  await page.getByRole('heading', { name: /Dataset points v\d/ }).waitFor();
  await page.getByLabel('Validate against').selectOption('points-suite');
  await page.getByLabel('Run in the background').check();
  await page.getByRole('button', { name: 'Validate', exact: true }).click();
  const runs = page.getByTestId('validation-runs');
  await runs.getByText('succeeded').waitFor({ timeout: 60_000 });
  await runs.getByRole('button', { name: /^Show report of run / }).click();
  await runs.getByTestId('validation-report').getByRole('cell', { name: 'range' }).first().waitFor();
  await screenshot('dataset-validation-run');
});

await journey('admin storage: registry retention dry run, replication field errors', async () => {
  await go('/admin/storage');
  await page.getByText('No replication has run yet.').waitFor();
  await page.getByLabel('Archived for longer than').fill('soon');
  await page.getByRole('button', { name: 'List versions' }).click();
  await expectText(page.locator('.field', { hasText: 'Archived for longer than' }).locator('.field-error'), /older_than/, 'the API error is next to the field');
  await page.getByLabel('Archived for longer than').fill('0d');
  await page.getByRole('button', { name: 'List versions' }).click();
  await expectText(page.getByTestId('retention-result'), /dry run/, 'a dry run lists the versions');
  // One backend here: replicating it to itself is refused, the message next to "To backend".
  await page.getByRole('button', { name: 'Start replication' }).click();
  await expectText(page.locator('.field', { hasText: 'To backend' }).locator('.field-error'), /differ/, 'the API error is next to the field');
  await screenshot('admin-storage');
});

await journey('admin: create a user with a role; roles, audit and system screens', async () => {
  await go('/admin/users');
  await page.getByRole('button', { name: 'Create a user' }).click();
  await page.getByLabel('User name').fill(VIEWER.username);
  await page.getByLabel('Email').fill(VIEWER.email);
  await page.getByLabel('Display name').fill('Vera <script>Viewer</script>');
  await page.getByLabel('Initial password').fill(VIEWER.password);
  await expect(await page.getByLabel('viewer', { exact: true }).isChecked(), 'viewer is the default role');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByText(`User ${VIEWER.username} created with roles viewer.`).waitFor();
  await page.getByTestId(`user-${VIEWER.username}`).getByText('Vera <script>Viewer</script>').waitFor();
  await screenshot('admin-users');
  await go('/admin/roles');
  await page.getByRole('rowheader', { name: /ml_engineer/ }).waitFor();
  await screenshot('admin-roles');
  await go('/admin/audit');
  await page.getByRole('cell', { name: /user/ }).first().waitFor();
  await page.getByLabel('Action').fill('auth.login');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('cell', { name: 'auth.login' }).first().waitFor();
  await screenshot('admin-audit');
  await go('/admin/system');
  await page.getByRole('heading', { name: 'Storage' }).waitFor();
  await page.getByRole('heading', { name: 'Cache' }).waitFor();
  await page.getByRole('heading', { name: 'Queues' }).waitFor();
  await screenshot('admin-system');
});

await journey('account: API key shown once', async () => {
  await go('/account');
  await page.getByLabel('Key name').fill('ci-key');
  await page.getByLabel('models:read').check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = await page.getByTestId('new-api-key').innerText();
  const r = await fetch(base + '/api/v1/models', { headers: { 'X-API-Key': key.trim() } });
  expect(r.status === 200, 'the new API key works');
  await page.getByRole('rowheader', { name: 'ci-key' }).waitFor();
  await screenshot('account');
});

await journey('viewer: restricted screens, two-factor setup, TOTP sign-in', async () => {
  await signOut();
  await signIn(VIEWER.username, VIEWER.password);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const hidden of ['Users', 'Roles', 'Audit log', 'System', 'Storage', 'Playground']) {
    expect((await nav.getByRole('link', { name: hidden, exact: true }).count()) === 0, `viewer does not see ${hidden}`);
  }
  for (const shown of ['Models', 'Deployments', 'Datasets', 'Validation', 'Training', 'Experiments', 'Sweeps', 'Files', 'Account']) {
    await nav.getByRole('link', { name: shown, exact: true }).waitFor();
  }
  await go('/admin/storage');
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await go('/validation');
  await page.getByRole('heading', { name: 'Validate records' }).waitFor();
  expect((await page.getByRole('heading', { name: 'Import a Great Expectations suite' }).count()) === 0, 'viewer cannot import suites');
  await go('/admin/users');
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await screenshot('viewer-forbidden');
  await go('/models');
  await page.getByRole('link', { name: MODEL }).waitFor();
  expect((await page.getByRole('button', { name: 'Register a model' }).count()) === 0, 'viewer cannot register models');
  await go(`/models/${MODEL}`);
  await page.getByTestId('version-1').waitFor();
  for (const hidden of ['Upload a version', 'Roll back', 'Aliases']) {
    expect((await page.getByRole('heading', { name: hidden }).count()) === 0, `viewer does not see ${hidden}`);
  }
  expect((await page.getByRole('button', { name: 'Delete model' }).count()) === 0, 'viewer cannot delete models');
  expect((await page.getByRole('button', { name: 'Verify version 1' }).count()) === 0, 'viewer cannot verify');
  await screenshot('viewer-model-detail');
  await go('/deployments');
  await page.getByTestId(`deployment-${MODEL}`).waitFor();
  expect((await page.getByRole('button', { name: 'Deploy a model' }).count()) === 0, 'viewer cannot deploy');
  expect((await page.getByRole('button', { name: `Undeploy ${MODEL}` }).count()) === 0, 'viewer cannot undeploy');
  await go('/datasets');
  await page.getByRole('link', { name: 'iris' }).first().waitFor();
  expect((await page.getByRole('heading', { name: 'Upload a dataset' }).count()) === 0, 'viewer cannot upload datasets');
  await go('/training');
  await page.getByTestId('job-flowers-mlp').waitFor();
  expect((await page.getByRole('button', { name: 'New training job' }).count()) === 0, 'viewer cannot start training');
  await page.getByTestId('job-flowers-mlp').getByRole('link', { name: 'flowers-mlp', exact: true }).click();
  await page.getByTestId('job-status').getByText('succeeded').waitFor();
  for (const hidden of ['Register model', 'Sweep from this job', 'Resume', 'Cancel']) {
    expect((await page.getByRole('main').getByText(hidden, { exact: true }).count()) === 0, `viewer does not see ${hidden}`);
  }
  await go('/experiments');
  await page.getByTestId('experiment-flowers').waitFor();
  await page.getByLabel('Show archived experiments').check();
  await page.getByTestId('experiment-blobs').waitFor();
  expect((await page.getByRole('button', { name: /^(Archive|Unarchive) / }).count()) === 0, 'viewer cannot archive experiments');
  await go('/experiments/flowers');
  await page.getByTestId('run-flowers-mlp').waitFor();
  expect((await page.getByRole('button', { name: 'Archive', exact: true }).count()) === 0, 'viewer cannot archive an experiment');
  await go('/sweeps');
  await page.getByTestId('sweep-blobs-lr').waitFor();
  expect((await page.getByRole('button', { name: 'New sweep' }).count()) === 0, 'viewer cannot start sweeps');
  await page.getByRole('link', { name: 'blobs-lr' }).click();
  await page.getByTestId('trial-1').waitFor();
  expect((await page.getByRole('button', { name: 'Cancel sweep' }).count()) === 0, 'viewer cannot cancel sweeps');
  await screenshot('viewer-sweep');
  await go('/files');
  await page.getByRole('heading', { name: 'Browse' }).waitFor();
  expect((await page.getByRole('heading', { name: 'Upload a file' }).count()) === 0, 'viewer cannot upload files');

  // Password change: every session ends, this one too; the new password works.
  await go('/account');
  await page.getByLabel('Current password').fill(VIEWER.password);
  await page.getByLabel('New password', { exact: true }).fill(VIEWER.newPassword);
  await page.getByLabel('New password again').fill(VIEWER.newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Your password was changed. Sign in with the new password.').waitFor();
  await signIn(VIEWER.username, VIEWER.newPassword);
  // Signing in again after a session ended returns to the same screen.
  await page.getByRole('heading', { name: 'Account' }).waitFor();

  // Two-factor: the QR code decodes to the otpauth URI holding the shown secret.
  await go('/account');
  await page.getByRole('button', { name: 'Set up two-factor' }).click();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  const qrFile = path.join(dataDir, 'qr.png');
  await page.getByTestId('totp-qr').screenshot({ path: qrFile });
  const png = PNG.sync.read(fs.readFileSync(qrFile));
  const decoded = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  expect(decoded && decoded.data.startsWith('otpauth://totp/') && decoded.data.includes(`secret=${secret}`), 'the QR code holds the otpauth URI');
  await screenshot('account-2fa-setup');
  const step = Math.floor(Date.now() / 1000 / 30);
  await page.getByLabel('Authentication code').fill(totp(secret, step));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByText('Two-factor authentication is on.', { exact: true }).waitFor();
  await signOut();
  await signIn(VIEWER.username, VIEWER.newPassword);
  await page.getByLabel('Authentication code').waitFor();
  await screenshot('login-totp-step');
  await page.getByLabel('Authentication code').fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectText(page.getByRole('alert'), /TOTP|code/i, 'a wrong code shows the API message');
  // The next step's code (the server accepts one step either side, each step once).
  await page.getByLabel('Authentication code').fill(totp(secret, step + 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await expectText(page.getByTestId('whoami'), /Vera/, 'signed in as the viewer');
});

await journey('narrow window: menu and pages fit', async () => {
  await signOut();
  await signIn('admin', ADMIN_PASSWORD);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.waitFor({ state: 'hidden' });
  await page.getByRole('button', { name: 'Menu' }).click();
  await nav.getByRole('link', { name: 'Models', exact: true }).waitFor();
  await screenshot('narrow-menu');
  await nav.getByRole('link', { name: 'Models', exact: true }).click();
  await page.getByRole('heading', { name: 'Models', exact: true }).waitFor();
  await nav.waitFor({ state: 'hidden' });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow <= 1, `the page does not scroll sideways (overflow ${overflow}px)`);
  await screenshot('narrow-models');
  await go(`/models/${MODEL}`);
  await page.getByTestId('version-1').waitFor();
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow2 <= 1, `model detail does not scroll sideways (overflow ${overflow2}px)`);
  await screenshot('narrow-model-detail');
  await page.setViewportSize({ width: 1280, height: 800 });
});

await journey('keyboard: sign-in form and navigation by keyboard only', async () => {
  await signOut();
  await page.keyboard.press('Tab');
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  // Skip link, then the menu links are reachable with Tab; Enter follows a link.
  await page.locator('body').focus();
  let reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.textContent === 'Files');
  }
  expect(reached, 'the Files link is reachable with Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Files', exact: true }).waitFor();
});

await journey('deployments: undeploy', async () => {
  await go('/deployments');
  await page.getByRole('button', { name: `Undeploy ${MODEL}` }).click();
  await page.getByText(`${MODEL} was undeployed.`).waitFor();
  await page.getByRole('button', { name: `Undeploy ${MODEL}` }).waitFor({ state: 'detached' });
  await screenshot('deployments-undeployed');
});

// ------------------------------------------------------------------------------------------- summary

await browser.close();
stopServer();
const failed = results.filter((r) => !r.ok);
const notRun = results.filter((r) => r.ok && r.skipped).length;
console.log(`\n${results.length - failed.length - notRun}/${results.length - notRun} journeys passed${notRun ? ` (${notRun} not run)` : ''}; screenshots in ${ARTIFACTS}`);
fs.writeFileSync(
  path.join(ARTIFACTS, 'results.json'),
  JSON.stringify(results.map((r) => ({ name: r.name, ok: r.ok, skipped: !!r.skipped, ms: r.ms, error: r.error ? String(r.error) : undefined })), null, 2),
);
if (failed.length) {
  const tail = fs.readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
  console.log(`server log (${logPath}), last lines:\n${tail}`);
  process.exit(1);
}
if (!process.env.C19AI_WEB_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
