// Finds the Chromium the browser tests drive with playwright-core, and
// decides what happens without one: outside CI the browser tests are
// skipped with a line saying how to get Chromium; under CI (CI=true) a
// missing browser fails the run, since a skipped browser test there would
// pass silently.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's and Ubuntu's chromium package installs here. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

const NOT_FOUND =
  "Chromium not found (CHROMIUM_PATH, /usr/bin/chromium, chromium-browser, playwright's browsers): " +
  'install it with `apt-get install chromium` or set CHROMIUM_PATH';

export type ChromiumSearch =
  | { found: true; executablePath: string; foundBy: string }
  | { found: false; reason: string };

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir !== '' && isExecutableFile(join(dir, name))) return join(dir, name);
  }
  return null;
}

function playwrightsChromium(): string | null {
  try {
    const file = chromium.executablePath();
    return file && isExecutableFile(file) ? file : null;
  } catch {
    // playwright-core throws on platforms it has no browser build for.
    return null;
  }
}

/**
 * Looks for Chromium: CHROMIUM_PATH, then /usr/bin/chromium,
 * `chromium-browser` on PATH, then the browsers playwright installed. A set
 * CHROMIUM_PATH is the only place looked at: whoever set it meant that
 * browser, and running another one instead would hide the mistake.
 * `systemChromium` exists so the later steps can be tested on a machine
 * that has /usr/bin/chromium.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env, systemChromium = SYSTEM_CHROMIUM): ChromiumSearch {
  const named = env.CHROMIUM_PATH;
  if (named) {
    if (isExecutableFile(named)) return { found: true, executablePath: named, foundBy: 'CHROMIUM_PATH' };
    return {
      found: false,
      reason:
        `Chromium not found: CHROMIUM_PATH is ${named}, which is not an executable file; ` +
        'point it at a Chromium binary, or unset it to search /usr/bin/chromium, chromium-browser and playwright\'s browsers',
    };
  }
  if (isExecutableFile(systemChromium)) return { found: true, executablePath: systemChromium, foundBy: systemChromium };
  const onThePath = onPath('chromium-browser', env.PATH);
  if (onThePath) return { found: true, executablePath: onThePath, foundBy: 'chromium-browser on PATH' };
  const playwrights = playwrightsChromium();
  if (playwrights) return { found: true, executablePath: playwrights, foundBy: "playwright's browsers" };
  return { found: false, reason: NOT_FOUND };
}

/** CI=true (or any value but '', '0', 'false'), as CI services set it. */
export function inCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = (env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

export interface BrowserTests {
  /** The browser to launch, or null when none was found. */
  executablePath: string | null;
  /** node:test's `skip` for every browser test: the reason, or false. */
  skip: string | false;
  /** Why there is no browser, or null. */
  missing: string | null;
  /** Whether CI is set, where a missing browser fails. */
  ci: boolean;
}

/**
 * The browser for this test file. Prints the reason once when there is
 * none. Give `skip` to every test that needs the browser, and launch it
 * with launchChromium() in a `before` hook that returns early when `skip`
 * is set: under CI, `skip` stays false and the launch fails instead.
 */
export function browserTests(env: NodeJS.ProcessEnv = process.env): BrowserTests {
  const ci = inCI(env);
  const search = findChromium(env);
  if (search.found) return { executablePath: search.executablePath, skip: false, missing: null, ci };
  console.error(search.reason);
  return { executablePath: null, skip: ci ? false : search.reason, missing: search.reason, ci };
}

/** One headless Chromium with a profile of its own in `profileDir`; throws the reason when there is none. */
export async function launchChromium(browser: BrowserTests, profileDir: string): Promise<BrowserContext> {
  if (browser.executablePath === null) {
    throw new Error(browser.ci ? `${browser.missing} (CI is set, so the browser tests may not be skipped)` : String(browser.missing));
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: browser.executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
}
