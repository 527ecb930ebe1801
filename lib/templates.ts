// Mustache templates shipped in templates/ (maintainer scripts, units, docs, LB configs): shared
// by the builder (build/) and the load-balancer configs (repo-server/colors/lb/).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';

const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const cache = new Map<string, string>();

export function templatePath(name: string): string {
  return `${TEMPLATE_DIR}${name}.mustache`;
}

function load(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(templatePath(name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** Renders templates/<name>.mustache. Nothing is HTML-escaped: the output is shell, INI or text. */
export function render(name: string, view: object): string {
  return Mustache.render(load(name), view, {}, { escape: (s: string) => s });
}

/** Reads a file that ships beside the templates (license texts). */
export function readTemplateFile(name: string): string | undefined {
  try {
    return readFileSync(`${TEMPLATE_DIR}${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** POSIX shell single-quoting. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
