// Repos: local repos, snapshots and publishes (prefix/distribution/sources, signed by, date), package
// search by aptly query with each package's control fields and pool files, and upload by drag
// and drop (POST /api/files/<dir>, then add the dir to a repo).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Dialog } from './dialog.js';
import type { Publish, Repo, Snapshot } from './types.js';

type Details = Record<string, string>;

/** When the live generation was made (its Release Date, UTC), with the generation number. */
function published(p: Publish): string {
  const own = p['x-debpkg'];
  if (!own?.Date) return '—';
  return `${own.Date.replace('T', ' ').replace('Z', '')} UTC (#${own.Generation})`;
}
/** Pool file fields of aptly's package details; the rest are control fields. */
const FILE_FIELDS = new Set(['Key', 'ShortKey', 'FilesHash', 'Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256', 'SHA512', 'Files', 'Checksums-Sha1', 'Checksums-Sha256', 'Checksums-Sha512']);

function PackageDetail({ pkg, onClose }: { pkg: Details; onClose: () => void }) {
  const control = Object.entries(pkg).filter(([k]) => !FILE_FIELDS.has(k));
  const files = pkg.Filename ? [{ name: pkg.Filename, size: pkg.Size ?? '', sha256: pkg.SHA256 ?? '' }] : (pkg['Checksums-Sha256'] ?? '').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3).map(([sha256, size, name]) => ({ name: name!, size: size!, sha256: sha256! }));
  return (
    <Dialog title={pkg.ShortKey ?? pkg.Key ?? 'package'} onClose={onClose}>
      <h3>Control fields</h3>
      <dl class="control">{control.map(([k, v]) => [<dt key={`t${k}`}>{k}</dt>, <dd key={`d${k}`}>{v}</dd>])}</dl>
      <h3>Files</h3>
      <table aria-label="files"><thead><tr><th>File</th><th>Size</th><th class="wide">SHA256</th></tr></thead>
        <tbody>{files.map((f) => <tr key={f.name}><td>{f.name}</td><td>{f.size}</td><td class="wide hash">{f.sha256}</td></tr>)}</tbody>
      </table>
      <div class="buttons"><button type="button" onClick={onClose}>Close</button></div>
    </Dialog>
  );
}

function Upload({ repos, onAdded }: { repos: Repo[]; onAdded: () => void }) {
  const [repo, setRepo] = useState('');
  const [over, setOver] = useState(false);
  const [msg, setMsg] = useState('');
  const send = async (files: File[]) => {
    if (!repo) return setMsg('choose a repo first');
    const debs = files.filter((f) => /\.(u?deb|dsc|tar\.\w+|diff\.gz)$/.test(f.name));
    if (debs.length === 0) return setMsg('drop .deb files (or a source package\'s files)');
    const dir = `ui-${Date.now().toString(36)}`;
    const form = new FormData();
    for (const f of debs) form.append('file', f, f.name);
    try {
      setMsg(`uploading ${debs.length} file(s)…`);
      await api('POST', `/api/files/${dir}`, form);
      const r = await api<{ Report: { Added: string[]; Warnings: string[] } }>('POST', `/api/repos/${encodeURIComponent(repo)}/file/${dir}`);
      setMsg(`added to ${repo}: ${r.Report.Added.join(', ') || 'nothing'}${r.Report.Warnings.length ? ` (warnings: ${r.Report.Warnings.join('; ')})` : ''}`);
      onAdded();
    } catch (e) {
      setMsg(`upload failed: ${(e as Error).message}`);
    }
  };
  return (
    <div>
      <label>Add to repo <select value={repo} onChange={(e) => setRepo((e.target as HTMLSelectElement).value)}><option value="">—</option>{repos.map((r) => <option key={r.Name}>{r.Name}</option>)}</select></label>
      <div class={`drop${over ? ' over' : ''}`} data-testid="drop"
        onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); void send([...(e.dataTransfer?.files ?? [])]); }}>
        Drop .deb files here, or <label class="pick">choose files<input type="file" multiple accept=".deb,.udeb,.dsc" onChange={(e) => void send([...((e.target as HTMLInputElement).files ?? [])])} /></label>
      </div>
      {msg && <p role="status" data-testid="upload-status">{msg}</p>}
    </div>
  );
}

export function Repos() {
  const [repos, setRepos] = useState<Repo[]>([]);
  const [snapshots, setSnapshots] = useState<Snapshot[]>([]);
  const [publishes, setPublishes] = useState<Publish[]>([]);
  const [query, setQuery] = useState('');
  const [repo, setRepo] = useState('');
  const [found, setFound] = useState<Details[] | null>(null);
  const [detail, setDetail] = useState<Details | null>(null);
  const [error, setError] = useState('');
  const load = () => {
    const fail = (e: Error) => setError(e.message);
    api<Repo[]>('GET', '/api/repos').then(setRepos, fail);
    api<Snapshot[]>('GET', '/api/snapshots').then(setSnapshots, fail);
    api<Publish[]>('GET', '/api/publish').then(setPublishes, fail);
  };
  useEffect(load, []);
  const search = async (e: Event) => {
    e.preventDefault();
    try {
      const q = query ? `q=${encodeURIComponent(query)}&` : '';
      setFound(await api<Details[]>('GET', `/api/repos/${encodeURIComponent(repo)}/packages?${q}format=details`));
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <h2>Repos</h2>
      <table aria-label="repos"><thead><tr><th>Name</th><th>Distribution</th><th>Component</th><th class="wide">Comment</th></tr></thead>
        <tbody>{repos.map((r) => <tr key={r.Name}><td>{r.Name}</td><td>{r.DefaultDistribution}</td><td>{r.DefaultComponent}</td><td class="wide">{r.Comment}</td></tr>)}</tbody>
      </table>
      <h2>Snapshots</h2>
      {snapshots.length === 0 ? <p>No snapshots.</p> : (
        <table aria-label="snapshots"><thead><tr><th>Name</th><th>Created</th><th class="wide">Description</th></tr></thead>
          <tbody>{snapshots.map((s) => <tr key={s.Name}><td>{s.Name}</td><td>{s.CreatedAt.replace('T', ' ').slice(0, 19)}</td><td class="wide">{s.Description}</td></tr>)}</tbody>
        </table>
      )}
      <h2>Published</h2>
      {publishes.length === 0 ? <p>Nothing published.</p> : (
        <table aria-label="publishes"><thead><tr><th>Prefix</th><th>Distribution</th><th>Sources</th><th class="wide">Signed by</th><th>Date</th></tr></thead>
          <tbody>{publishes.map((p) => (
            <tr key={`${p.Prefix}/${p.Distribution}`}><td>{p.Prefix}</td><td>{p.Distribution}</td>
              <td>{p.SourceKind}: {p.Sources.map((s) => `${s.Name} (${s.Component})`).join(', ')}</td><td class="wide">{p.SignedBy || 'unsigned'}</td>
              <td>{published(p)}</td></tr>
          ))}</tbody>
        </table>
      )}
      <h2>Upload</h2>
      <Upload repos={repos} onAdded={load} />
      <h2>Package search</h2>
      <form onSubmit={search}>
        <label>Repo <select value={repo} onChange={(e) => setRepo((e.target as HTMLSelectElement).value)}><option value="">—</option>{repos.map((r) => <option key={r.Name}>{r.Name}</option>)}</select></label>
        <label>Query <input value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} placeholder="Name (~ hello)" /></label>
        <button type="submit" disabled={!repo}>Search</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {found && (
        <ul aria-label="packages">{found.map((p) => <li key={p.Key}><button type="button" class="link" onClick={() => setDetail(p)}>{p.Key}</button></li>)}</ul>
      )}
      {detail && <PackageDetail pkg={detail} onClose={() => setDetail(null)} />}
    </section>
  );
}
