// systemd section → unit files under /usr/lib/systemd/system plus the maintainer-script
// snippets debhelper 13's dh_installsystemd would add (deb-systemd-helper/-invoke).

import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { SpecError } from './spec-error.js';
import type { SystemdSpec } from './spec-types.js';
import { render } from './templates.js';
import type { Snippets } from './maintainer-scripts.js';

export const SYSTEMD_UNIT_DIR = '/usr/lib/systemd/system';

export interface UnitFile {
  path: string;
  data: Buffer;
  origin: string;
}

export async function systemdUnits(units: SystemdSpec[], baseDir: string): Promise<UnitFile[]> {
  const out: UnitFile[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    const at = ['systemd', i];
    if (seen.has(u.name)) throw new SpecError([...at, 'name'], `unit '${u.name}' is listed twice`);
    seen.add(u.name);
    if ((u.file === undefined) === (u.unit === undefined)) {
      throw new SpecError(at, 'give either file (a unit file) or unit (fields to render), not both or neither');
    }
    let text: string;
    if (u.file !== undefined) {
      const path = isAbsolute(u.file) ? u.file : resolve(baseDir, u.file);
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new SpecError([...at, 'file'], `'${u.file}' cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    } else {
      if (!u.name.endsWith('.service')) throw new SpecError([...at, 'unit'], 'unit fields render .service units only; ship other unit types with file');
      const f = u.unit!;
      checkUnitValues(f as unknown as Record<string, unknown>, [...at, 'unit']);
      text = render('systemd/service', {
        ...f,
        description: f.description ?? u.name.replace(/\.service$/, ''),
        type: f.type ?? 'simple',
        restart: f.restart ?? 'on-failure',
        environment: Object.entries(f.environment ?? {}).map(([name, value]) => {
          if (!ENV_NAME.test(name)) throw new SpecError([...at, 'unit', 'environment', name], `'${name}' is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)`);
          return { name, value: quotedEnvValue(String(value)) };
        }),
        wanted_by: f.wanted_by ?? ['multi-user.target'],
      });
    }
    out.push({ path: `${SYSTEMD_UNIT_DIR}/${u.name}`, data: Buffer.from(text), origin: `systemd[${i}]` });
  }
  return out;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Every rendered value is one line of a unit file: a line break would start a new directive
 * (or section), so it is refused with the field named; nothing is silently rewritten.
 */
function checkUnitValues(fields: Record<string, unknown>, at: (string | number)[]): void {
  const check = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      const bad = /[\x00-\x08\x0a-\x1f\x7f]/.exec(value);
      if (bad) throw new SpecError(path, `holds a control character (U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}); a unit file value is one line`);
    } else if (Array.isArray(value)) value.forEach((v, i) => check(v, [...path, i]));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) check(v, [...path, k]);
  };
  for (const [k, v] of Object.entries(fields)) check(v, [...at, k]);
}

/** An Environment= value inside double quotes: C-style escapes and `%` specifiers are systemd's, so both are escaped. */
function quotedEnvValue(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%');
}

/** Adds the enable/start/stop/mask snippets, grouping units that share the same options. */
export function addSystemdSnippets(units: SystemdSpec[], snippets: Snippets): void {
  const groups = new Map<string, { enable: boolean; start: boolean; restart: boolean; names: string[] }>();
  for (const u of units) {
    const enable = u.enable ?? true;
    const start = u.start ?? true;
    const restart = u.restart_on_upgrade ?? true;
    const key = `${enable}/${start}/${restart}`;
    const g = groups.get(key) ?? { enable, start, restart, names: [] };
    g.names.push(u.name);
    groups.set(key, g);
  }
  const all = units.map((u) => `'${u.name}'`).join(' ');
  for (const g of groups.values()) {
    const view = { units: g.names.map((n) => `'${n}'`).join(' '), enable: g.enable, start: g.start, upgradeAction: g.restart ? 'restart' : 'start' };
    snippets.postinst.push(render('systemd/postinst', view).trimEnd());
  }
  if (units.length > 0) {
    snippets.prerm.push(render('systemd/prerm', { units: all }).trimEnd());
    snippets.postrm.push(render('systemd/postrm', { units: all }).trimEnd());
  }
}
