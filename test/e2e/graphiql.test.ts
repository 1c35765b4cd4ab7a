/**
 * GraphiQL in a real browser: Debian's Chromium, headless, driven by playwright-core. Opens /graphql,
 * types the Authorization header into the header editor, runs a query, then a subscription, and checks
 * what the page shows. Screenshots go to test-results/.
 */
import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, type RunningApp, signUp, startApp, type TestUser } from '../helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-results';

let api: RunningApp;
let browser: Browser;
let page: Page;
let user: TestUser;
const failed: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  api = await startApp();
  user = await signUp(api.graphqlUrl);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // GraphiQL must work offline: every request stays on this server and succeeds.
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(api.url) && !/^(data|blob):/.test(r.url())) failed.push(`off-site: ${r.url()}`);
  });
});
afterAll(async () => {
  await browser?.close();
  await api?.stop();
});

/** Replaces an editor's text the way a user would: click, select all, type (pasted, so no auto-closing brackets). */
async function typeInto(editor: string, text: string) {
  await page.locator(editor).first().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  // GraphiQL re-reads the document (and its operation name) after a short debounce.
  await page.waitForTimeout(600);
}

async function run() {
  await page.locator('.graphiql-execute-button').click();
}

/** The result pane's text without whitespace (the read-only editor wraps long lines). */
// biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what the test checks (Playwright's innerText, not the DOM's)
const resultText = async () => (await page.locator('.result-window').innerText()).replace(/\s+/g, '');

describe('GraphiQL in Chromium', () => {
  it('runs an authenticated query with the header set in the header editor', async () => {
    await page.goto(api.graphqlUrl);
    await page.locator('.graphiql-query-editor').waitFor();
    await page.screenshot({ path: `${SHOTS}/graphiql-loaded.png` });
    await typeInto('.graphiql-query-editor', 'query Me { me { id email } }');
    // Headers tab of the editor tools, then the header editor.
    await page.locator('.graphiql-editors button', { hasText: 'Headers' }).click();
    await typeInto(
      '.graphiql-editor-tool .graphiql-editor:not(.hidden)',
      JSON.stringify({ Authorization: `Bearer ${user.token}` }),
    );
    await run();
    await expect.poll(resultText, { timeout: 10_000 }).toContain(`"email":"${user.email}"`);
    await page.screenshot({ path: `${SHOTS}/graphiql-query.png` });
    expect(failed).toEqual([]);
  });

  it('runs a subscription over graphql-ws and shows live events', async () => {
    const p = (await gql(api.graphqlUrl, 'mutation { createProject(name: "browser", bpm: 90) { id } }', {}, user.token)).data
      .createProject.id as string;
    await typeInto('.graphiql-query-editor', `subscription Updated { projectUpdated(projectId: "${p}") { name bpm } }`);
    await run();
    // The page's own graphql-ws socket must be subscribed before the change is made.
    await expect.poll(resultText, { timeout: 10_000 }).not.toContain(user.email);
    await new Promise((r) => setTimeout(r, 1000));
    for (const bpm of [133, 134]) {
      await gql(
        api.graphqlUrl,
        'mutation($p: ID!, $bpm: Int) { updateProject(id: $p, bpm: $bpm) { id } }',
        { p, bpm },
        user.token,
      );
      await expect.poll(resultText, { timeout: 10_000 }).toContain(`"projectUpdated":{"name":"browser","bpm":${bpm}}`);
    }
    await page.screenshot({ path: `${SHOTS}/graphiql-subscription.png` });
  });
});

describe('the served GraphiQL build', () => {
  it('is patched to send the header editor on connection_init (the pattern exists in this version)', async () => {
    const { readFileSync } = await import('node:fs');
    const { patchGraphiqlBuild } = await import('../../src/http/graphiql.js');
    const source = readFileSync('node_modules/.cache/dawg-graphiql/yoga-graphiql.umd.js', 'utf8');
    const patched = patchGraphiqlBuild(source);
    expect(patched).not.toBe(source);
    expect(patched).toMatch(/connectionParams:[\w$]+\?\.headers\}/);
  });
});
