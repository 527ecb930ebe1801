// The operator's dashboard: services (colors, units, weights, history, live by server-sent
// events) with swap and rollback behind a gate preview, and repos (snapshots, publishes,
// package search and detail, upload). Same origin as the API; the token is typed once, kept in
// sessionStorage and sent as a Bearer header (never in a URL).
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { api, TOKEN_KEY } from './api.js';
import { Repos } from './repos.js';
import { Services } from './services.js';

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
      <h1>debpkg</h1>
      <form onSubmit={submit}>
        <label>Admin token <input type="password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus /></label>
        <button type="submit">Sign in</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
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
