// A client for HAProxy's runtime API (the admin stats socket): one command per connection,
// the way the non-interactive CLI works, so each answer is unambiguous.

import { connect } from 'node:net';

export class RuntimeApiError extends Error {}

/**
 * What may not be in a command: HAProxy's CLI ends a command at ';' or a line break (a '\r' too
 * for its line reader), takes '\\' as an escape and quotes as argument delimiters, and reads a
 * payload after '<<'. A command here is words of known values only, so any of these means a
 * value that was not checked: refuse rather than send a second command.
 */
const NOT_ONE_COMMAND = /[\0-\x1f\x7f;\\'"`]|<</;

export function runtimeCommand(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  const bad = NOT_ONE_COMMAND.exec(command);
  if (bad) return Promise.reject(new RuntimeApiError(`refusing to send a runtime API command holding ${JSON.stringify(bad[0])}: ${JSON.stringify(command)}`));
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => conn.destroy(new RuntimeApiError(`runtime API: '${command}' timed out`)), timeoutMs);
    conn.on('connect', () => conn.end(`${command}\n`));
    conn.on('data', (b: Buffer) => chunks.push(b));
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(new RuntimeApiError(`runtime API at ${socket}: ${err.message}`));
    });
    conn.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export interface ServerState {
  backend: string;
  name: string;
  address: string;
  port: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** srv_admin_state bit field: 0x01 forced maintenance, 0x08 drain... */
  adminState: number;
  weight: number;
}

/** Parses `show servers state [backend]` (format version 1). */
export function parseServersState(text: string): ServerState[] {
  const out: ServerState[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || /^\d+$/.test(line.trim())) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 19) continue;
    out.push({ backend: f[1]!, name: f[3]!, address: f[4]!, opState: Number(f[5]), adminState: Number(f[6]), weight: Number(f[7]), port: Number(f[18]) });
  }
  return out;
}

/** Runtime API answers are text; these mean the command did what it said. */
export function isRuntimeOk(answer: string): boolean {
  const a = answer.trim();
  return a === '' || /^(New server registered\.|Server deleted\.)/.test(a) || /no need to change/i.test(a);
}
