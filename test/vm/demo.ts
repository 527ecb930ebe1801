// vm-demo: the example service the VM tests bake and upgrade. A python3 HTTP server (the image
// has python3; no Node.js on fleet nodes) run by its own systemd unit, in a color group: it
// answers with its color and version (X-Color, X-Version), has /healthz, and a /slow path that
// keeps requests in flight for 300 ms, so an upgrade that stops it under traffic shows.

import { Project } from '../support/project.js';

export const SERVICE = 'vm-demo';
/** A fixed port keeps the .deb (and so the baked image) the same from run to run. */
export const DEMO_PORT = 18080;

const SERVER_PY = `#!/usr/bin/python3
# vm-demo: answers with this node's color and the package version.
import os, socket, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = open('/usr/share/vm-demo/VERSION').read().strip()

def color():
    try:
        return open('/etc/debpkg/color').read().strip()
    except OSError:
        return 'none'

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith('/slow'):
            time.sleep(0.3)
        body = ('ok\\n' if self.path == '/healthz' else 'vm-demo %s %s %s\\n' % (VERSION, color(), socket.gethostname())).encode()
        self.send_response(200)
        self.send_header('X-Color', color())
        self.send_header('X-Version', VERSION)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(('0.0.0.0', int(os.environ.get('PORT', '8080'))), Handler).serve_forever()
`;

/** Builds vm-demo at each version (reproducibly); returns the .deb paths in that order. */
export async function buildDemo(port: number, versions: string[]): Promise<{ project: Project; debs: string[] }> {
  const project = await Project.create({ 'server.py': { content: SERVER_PY, mode: 0o755 } });
  const debs: string[] = [];
  for (const version of versions) {
    await project.write('VERSION', `${version}-1\n`);
    await project.spec(`name: ${SERVICE}
version: "${version}"
release: "1"
arch: all
maintainer: debpkg VM tests <vm@debpkg.dev>
description: |
  Example service of the VM fleet tests
  A python3 HTTP service in a blue/green color group, run by systemd.
license: MIT
depends: [python3]
contents:
  - { src: server.py, dst: /usr/lib/${SERVICE}/server.py }
  - { src: VERSION, dst: /usr/share/${SERVICE}/VERSION }
systemd:
  - name: ${SERVICE}.service
    unit:
      exec_start: /usr/lib/${SERVICE}/server.py
      environment: { PORT: "${port}" }
color:
  service: ${SERVICE}
  port: ${port}
  health: { path: /healthz, interval: 1s, timeout: 1s }
`);
    debs.push(await project.build(['--output', `out-${version}`], { SOURCE_DATE_EPOCH: '1700000000' }));
  }
  return { project, debs };
}
