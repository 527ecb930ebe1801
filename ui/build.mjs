// Bundles the dashboard (preact) into dist/ui/ with esbuild: app.js, app.css, index.html.
// Part of `npm run build`; nothing is fetched at run time (no CDN).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

const out = new URL('../dist/ui/', import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./src/main.tsx', import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: new URL('app.js', out).pathname,
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) await copyFile(new URL(f, import.meta.url), new URL(f, out));
