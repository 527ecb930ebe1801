// Replaces one marked section of a Markdown report, leaving the others as they were.

import { readFile, rename, writeFile } from 'node:fs/promises';

export async function updateSection(path: string, name: string, body: string): Promise<void> {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = await readFile(path, 'utf8').catch(() => '# Benchmarks\n');
  const block = `${start}\n${body}\n${end}`;
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  const next = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`;
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, next);
  await rename(tmp, path);
}
