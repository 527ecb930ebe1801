// The operator's dashboard: services (colors, units, weights, history) with swap and rollback,
// and repos with package search. Same origin as the API; the token is typed once, kept in
// sessionStorage and sent as a Bearer header (never in a URL). Service views refresh by polling.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const TOKEN_KEY = 'debpkg-token';
const PAGE = 50;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- aptly JSON, shown as-is

async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

function Login({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await api('GET', '/api/services');
      onDone();
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <form onSubmit={submit}>
        <label>Admin token <input type="password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus /></label>
        <button type="submit">Sign in</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}

function age(ms: number): string {
  return ms < 0 ? '—' : `${Math.round(ms / 1000)} s`;
}

function Service({ name }: { name: string }) {
  const [s, setS] = useState<Json>(null);
  const [history, setHistory] = useState<Json[]>([]);
  const [page, setPage] = useState(0);
  const [msg, setMsg] = useState('');
  const [weight, setWeight] = useState(10);
  const load = () =>
    Promise.all([api('GET', `/api/services/${encodeURIComponent(name)}`), api('GET', `/api/services/${encodeURIComponent(name)}/history`)])
      .then(([svc, h]) => {
        setS(svc);
        setHistory(h);
      })
      .catch((e) => setMsg(e.message));
  useEffect(() => {
    void load();
    const t = setInterval(load, 1000);
    return () => clearInterval(t);
  }, [name]);
  if (!s) return <p>loading…</p>;
  const other = s.Active === 'blue' ? 'green' : 'blue';
  const act = async (what: string, path: string, body: unknown) => {
    if (!confirm(`${what} on ${name}? Traffic now: blue ${s.Weights?.blue ?? 0}% / green ${s.Weights?.green ?? 0}%. The health gate runs first.`)) return;
    try {
      const r = await api('POST', `/api/services/${encodeURIComponent(name)}/${path}`, body);
      setMsg(`${what}: ${r.Result ?? 'done'}`);
    } catch (e) {
      setMsg(`${what} refused: ${(e as Error).message}`);
    }
    void load();
  };
  const units: Json[] = s.Units ?? [];
  const shown = units.slice(page * PAGE, page * PAGE + PAGE);
  return (
    <div>
      <h2>{name}</h2>
      <p>
        Active: <b class={s.Active}>{s.Active ?? 'none'}</b> · weights <span class="blue">blue {s.Weights?.blue}%</span> / <span class="green">green {s.Weights?.green}%</span>
      </p>
      <form onSubmit={(e) => e.preventDefault()}>
        <button type="button" onClick={() => act(`Swap to ${other}`, 'swap', { To: other })}>Swap to {other}</button>
        <label>Canary % <input type="number" min={1} max={99} value={weight} onInput={(e) => setWeight(Number((e.target as HTMLInputElement).value))} /></label>
        <button type="button" onClick={() => act(`Canary ${weight}% to ${other}`, 'swap', { To: other, Strategy: 'canary', Weight: weight })}>Canary</button>
        <button type="button" onClick={() => act(`Rolling to ${other}`, 'swap', { To: other, Strategy: 'rolling', Steps: [25, 50, 100] })}>Rolling</button>
        <button type="button" onClick={() => act('Rollback', 'rollback', {})}>Rollback</button>
      </form>
      {msg && <p role="status">{msg}</p>}
      <table>
        <thead><tr><th>Node</th><th>Color</th><th>Health</th><th>Heartbeat</th><th>Address</th><th>Version</th></tr></thead>
        <tbody>
          {shown.map((u) => (
            <tr key={u.Node} class={u.Alive ? '' : 'dead'}>
              <td>{u.Node}</td><td class={u.Color}>{u.Color}</td><td>{u.Alive ? u.Health : 'expired'}</td>
              <td>{age(u.LastSeen ? Date.now() - Date.parse(u.LastSeen) : -1)}</td><td>{u.Address}:{u.Port}</td><td>{u.Version}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {units.length > PAGE && (
        <p>
          <button disabled={page === 0} onClick={() => setPage(page - 1)}>Previous</button> units {page * PAGE + 1}–{Math.min(units.length, (page + 1) * PAGE)} of {units.length}{' '}
          <button disabled={(page + 1) * PAGE >= units.length} onClick={() => setPage(page + 1)}>Next</button>
        </p>
      )}
      <h3>History</h3>
      <table>
        <thead><tr><th>When</th><th>Kind</th><th>To</th><th>Result</th><th>Who</th></tr></thead>
        <tbody>
          {[...history].reverse().slice(0, 20).map((h) => (
            <tr key={h.Id}><td>{h.Finished}</td><td>{h.Kind}</td><td class={h.To}>{h.To}</td><td>{h.Result}{h.Reason ? ` (${h.Reason})` : ''}</td><td>{h.User}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Services() {
  const [list, setList] = useState<Json[]>([]);
  const [chosen, setChosen] = useState('');
  useEffect(() => {
    const load = () => api('GET', '/api/services').then(setList).catch(() => undefined);
    void load();
    const t = setInterval(load, 2000);
    return () => clearInterval(t);
  }, []);
  return (
    <section>
      <nav aria-label="services">
        {list.map((s) => (
          <button key={s.Name} aria-current={chosen === s.Name ? 'page' : undefined} onClick={() => setChosen(s.Name)}>{s.Name}</button>
        ))}
        {list.length === 0 && <p>No services registered.</p>}
      </nav>
      {chosen && <Service name={chosen} />}
    </section>
  );
}

function Repos() {
  const [repos, setRepos] = useState<Json[]>([]);
  const [publishes, setPublishes] = useState<Json[]>([]);
  const [query, setQuery] = useState('');
  const [repo, setRepo] = useState('');
  const [found, setFound] = useState<string[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', '/api/repos').then(setRepos).catch((e) => setError(e.message));
    api('GET', '/api/publish').then(setPublishes).catch((e) => setError(e.message));
  }, []);
  const search = async (e: Event) => {
    e.preventDefault();
    try {
      setFound(await api('GET', `/api/repos/${encodeURIComponent(repo)}/packages?q=${encodeURIComponent(query)}`));
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <h2>Repos</h2>
      <ul>{repos.map((r) => <li key={r.Name}>{r.Name} — {r.DefaultDistribution} {r.Comment}</li>)}</ul>
      <h2>Published</h2>
      <ul>{publishes.map((p) => <li key={`${p.Prefix}/${p.Distribution}`}>{p.Prefix}/{p.Distribution} ({p.SourceKind}: {(p.Sources ?? []).map((s: Json) => s.Name).join(', ')})</li>)}</ul>
      <h2>Package search</h2>
      <form onSubmit={search}>
        <label>Repo <select value={repo} onChange={(e) => setRepo((e.target as HTMLSelectElement).value)}><option value="">—</option>{repos.map((r) => <option key={r.Name}>{r.Name}</option>)}</select></label>
        <label>Query <input value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} placeholder="Name (~ hello)" /></label>
        <button type="submit" disabled={!repo}>Search</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {found && <ul aria-label="packages">{found.map((k) => <li key={k}>{k}</li>)}</ul>}
    </section>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(sessionStorage.getItem(TOKEN_KEY) !== null);
  const [tab, setTab] = useState<'services' | 'repos'>('services');
  if (!signedIn) return <Login onDone={() => setSignedIn(true)} />;
  return (
    <div>
      <header>
        <b>debpkg</b>
        <button aria-current={tab === 'services' ? 'page' : undefined} onClick={() => setTab('services')}>Services</button>
        <button aria-current={tab === 'repos' ? 'page' : undefined} onClick={() => setTab('repos')}>Repos</button>
        <button onClick={() => { sessionStorage.removeItem(TOKEN_KEY); setSignedIn(false); }}>Sign out</button>
      </header>
      {tab === 'services' ? <Services /> : <Repos />}
    </div>
  );
}

render(<App />, document.getElementById('app')!);
