// A service's units as a virtualized list: only the rows in view (plus a margin) are in the
// DOM, so 1,000 units scroll as smoothly as ten. Fixed row height; the list is one tab stop
// and scrolls with the arrow and page keys.
import { useState } from 'preact/hooks';
import type { Unit } from './types.js';

const ROW = 30;
const VIEW = 420;
const MARGIN = 8;

const age = (iso: string, now: number): string => (iso ? `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s` : '—');

export function UnitsList({ units, now }: { units: Unit[]; now: number }) {
  const [top, setTop] = useState(0);
  const height = Math.min(VIEW, units.length * ROW);
  const from = Math.max(0, Math.floor(top / ROW) - MARGIN);
  const to = Math.min(units.length, Math.ceil((top + VIEW) / ROW) + MARGIN);
  return (
    <div class="units" role="table" aria-label="units" aria-rowcount={units.length + 1}>
      <div class="row head" role="row">
        <span role="columnheader">Node</span><span role="columnheader">Color</span><span role="columnheader">Health</span>
        <span role="columnheader">Heartbeat</span><span role="columnheader" class="wide">Address</span><span role="columnheader" class="wide">Version</span>
      </div>
      <div class="scroller" style={{ height: `${height}px` }} tabIndex={0} aria-label={`${units.length} units, scrollable`} onScroll={(e) => setTop((e.currentTarget as HTMLElement).scrollTop)}>
        <div style={{ height: `${units.length * ROW}px`, position: 'relative' }}>
          {units.slice(from, to).map((u, i) => (
            <div key={u.Node} role="row" aria-rowindex={from + i + 2} class={`row${u.Alive ? '' : ' dead'}`} style={{ top: `${(from + i) * ROW}px` }}>
              <span role="cell">{u.Node}</span><span role="cell" class={u.Color}>{u.Color}</span><span role="cell">{u.Alive ? u.Health : 'expired'}</span>
              <span role="cell">{age(u.LastSeen, now)}</span><span role="cell" class="wide">{u.Address}:{u.Port}</span><span role="cell" class="wide">{u.Version}</span>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
