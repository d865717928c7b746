// The examples in README.md are run by the tests: each is a fenced
// block whose first line is a comment naming its file, e.g. `// example.mjs`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The fenced block of README.md whose first line is `// <file>`. */
export function docExample(file: string): string {
  const doc = readFileSync(repoRoot + 'README.md', 'utf8');
  for (const [, body] of doc.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)) {
    const firstLine = body.slice(0, body.indexOf('\n')).trim();
    if (firstLine === `// ${file}` || firstLine.startsWith(`// ${file} `)) return body;
  }
  throw new Error(`README.md has no example starting with "// ${file}"`);
}
