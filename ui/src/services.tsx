// Services: the list and one service's colors, units, weights and history, kept live by the
// server's event stream (/api/events), and its actions behind a confirmation that shows the
// server's dry run: the weights before → after each step and the gate's verdict.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, streamEvents } from './api.js';
import { Dialog } from './dialog.js';
import type { Preview, Service, SwapRecord, Summary } from './types.js';
import { UnitsList } from './units-list.js';

interface Action {
  label: string;
  path: 'swap' | 'rollback';
  body: Record<string, unknown>;
}

const pct = (w: Record<string, number> | undefined, c: string) => `${w?.[c] ?? 0}%`;

function Confirm({ service, action, onClose, onDone }: { service: string; action: Action; onClose: () => void; onDone: (msg: string) => void }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const base = `/api/services/${encodeURIComponent(service)}/${action.path}`;
  useEffect(() => {
    api<Preview>('POST', `${base}/preview`, action.body).then(setPreview, (e: Error) => setError(e.message));
  }, []);
  const run = async () => {
    setBusy(true);
    try {
      const r = await api<SwapRecord>('POST', base, action.body);
      onDone(`${action.label}: ${r.Result}`);
    } catch (e) {
      const reason = e instanceof ApiError && typeof (e.body.Record as SwapRecord | undefined)?.Reason === 'string' ? (e.body.Record as SwapRecord).Reason : (e as Error).message;
      onDone(`${action.label} refused: ${reason}`);
    }
  };
  return (
    <Dialog title={`${action.label} on ${service}?`} onClose={onClose}>
      {!preview && !error && <p>Asking the gate…</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {preview && (
        <div>
          <table class="plan" aria-label="weights before and after">
            <thead><tr><th>Step</th><th class="blue">blue</th><th class="green">green</th><th>Active</th></tr></thead>
            <tbody>
              <tr><td>now</td><td>{pct(preview.From.Weights, 'blue')}</td><td>{pct(preview.From.Weights, 'green')}</td><td>{preview.From.Active ?? '—'}</td></tr>
              {preview.Steps.map((s, i) => (
                <tr key={i}><td>→ step {i + 1}</td><td>{pct(s.Traffic.Weights, 'blue')}</td><td>{pct(s.Traffic.Weights, 'green')}</td><td>{s.Traffic.Active ?? '—'}</td></tr>
              ))}
            </tbody>
          </table>
          {preview.Gate && (
            <p class={preview.Passed ? 'ok' : 'error'} data-gate={preview.Passed ? 'passed' : 'refused'}>
              Gate on {preview.Gate.Color}: {preview.Gate.Healthy} of {preview.Gate.Required} required units healthy — {preview.Passed ? 'passes' : 'refused'}
            </p>
          )}
          {!preview.Passed && <p class="error" role="alert">{preview.Reason}</p>}
        </div>
      )}
      <div class="buttons">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" class="primary" disabled={!preview?.Passed || busy} onClick={run}>Confirm</button>
      </div>
    </Dialog>
  );
}

function ServiceView({ name, summaryLive }: { name: string; summaryLive: boolean }) {
  const [s, setS] = useState<Service | null>(null);
  const [history, setHistory] = useState<SwapRecord[]>([]);
  const [gone, setGone] = useState(false);
  const [live, setLive] = useState(false);
  const [msg, setMsg] = useState('');
  const [weight, setWeight] = useState(10);
  const [action, setAction] = useState<Action | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const stop = new AbortController();
    setS(null);
    setHistory([]);
    void streamEvents(
      `/api/events?service=${encodeURIComponent(name)}`,
      (event, data) => {
        if (event === 'service') {
          setS(data as Service);
          setGone(false);
        } else if (event === 'removed') setGone(true);
        else if (event === 'history') setHistory((data as SwapRecord[]).slice().reverse());
        else if (event === 'swap') setHistory((h) => [data as SwapRecord, ...h].slice(0, 200));
      },
      setLive,
      stop.signal,
    );
    // Heartbeat ages tick locally; the data itself only changes by events.
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      stop.abort();
      clearInterval(tick);
    };
  }, [name]);
  if (gone) return <p>Service {name} is not registered.</p>;
  if (!s) return <p>loading…</p>;
  const other = s.Active === 'blue' ? 'green' : 'blue';
  return (
    <div>
      <h2>{name} <small class={live && summaryLive ? 'live' : 'stale'}>{live ? '● live' : '○ reconnecting'}</small></h2>
      <p>
        Active: <b class={s.Active ?? ''} data-testid="active">{s.Active ?? 'none'}</b> · weights <span class="blue">blue {pct(s.Weights, 'blue')}</span> / <span class="green">green {pct(s.Weights, 'green')}</span>
      </p>
      <form class="actions" onSubmit={(e) => e.preventDefault()}>
        <button type="button" onClick={() => setAction({ label: `Swap to ${other}`, path: 'swap', body: { To: other } })}>Swap to {other}</button>
        <label>Canary % <input type="number" min={1} max={99} value={weight} onInput={(e) => setWeight(Number((e.target as HTMLInputElement).value))} /></label>
        <button type="button" onClick={() => setAction({ label: `Canary ${weight}% to ${other}`, path: 'swap', body: { To: other, Strategy: 'canary', Weight: weight } })}>Canary</button>
        <button type="button" onClick={() => setAction({ label: `Rolling to ${other}`, path: 'swap', body: { To: other, Strategy: 'rolling', Steps: [25, 50, 100] } })}>Rolling</button>
        <button type="button" onClick={() => setAction({ label: 'Rollback', path: 'rollback', body: {} })}>Rollback</button>
      </form>
      {msg && <p role="status">{msg}</p>}
      <UnitsList units={s.Units} now={now} />
      <h3>History</h3>
      <table>
        <thead><tr><th>When</th><th>Kind</th><th>To</th><th>Result</th><th class="wide">Who</th></tr></thead>
        <tbody>
          {history.slice(0, 20).map((h) => (
            <tr key={h.Id}><td>{h.Finished.replace('T', ' ').slice(0, 19)}</td><td>{h.Kind}{h.Strategy && h.Kind === 'swap' ? ` (${h.Strategy})` : ''}</td><td class={h.To}>{h.To}</td><td>{h.Result}{h.Reason ? ` (${h.Reason})` : ''}</td><td class="wide">{h.User}</td></tr>
          ))}
        </tbody>
      </table>
      {action && <Confirm service={name} action={action} onClose={() => setAction(null)} onDone={(m) => { setMsg(m); setAction(null); }} />}
    </div>
  );
}

export function Services() {
  const [list, setList] = useState<Summary[]>([]);
  const [chosen, setChosen] = useState('');
  const [live, setLive] = useState(false);
  useEffect(() => {
    const stop = new AbortController();
    void streamEvents('/api/events', (event, data) => event === 'services' && setList(data as Summary[]), setLive, stop.signal);
    return () => stop.abort();
  }, []);
  return (
    <section>
      <nav aria-label="services">
        {list.map((s) => (
          <button key={s.Name} aria-current={chosen === s.Name ? 'page' : undefined} onClick={() => setChosen(s.Name)}>
            {s.Name} <small>{s.Units} up · {s.Active ?? '—'}</small>
          </button>
        ))}
        {list.length === 0 && <p>No services registered.</p>}
      </nav>
      {chosen && <ServiceView key={chosen} name={chosen} summaryLive={live} />}
    </section>
  );
}
