// The control archive's other files that dpkg parses while it unpacks (conffiles, triggers):
// a package the server accepts must not be one dpkg refuses on the node. Found by the fuzzer: a
// conffiles line over dpkg's buffer made `dpkg --unpack` fail ("conffile name … is too long, or
// missing final newline") after the package had been published.

/** dpkg reads a conffiles line into a 1000-byte buffer (src/main/unpack.c, MAXCONFFILENAME). */
const MAX_CONFFILE_LINE = 1000;
/** dpkg ≥ 1.20.1 knows one flag before the path. */
const CONFFILE = /^(?:remove-on-upgrade )?\/[^\x00-\x1f\x7f]*$/;
/** deb-triggers(5): a directive and a trigger name (no whitespace), or a comment. */
const TRIGGER = /^(?:interest|interest-await|interest-noawait|activate|activate-await|activate-noawait)[ \t]+[!-~]+$/;

/** The first problem dpkg would have with these control files, or null. */
export function controlFilesProblem(files: ReadonlyMap<string, string>): string | null {
  const conffiles = files.get('conffiles');
  if (conffiles !== undefined && conffiles !== '') {
    if (!conffiles.endsWith('\n')) return 'control member conffiles: missing final newline';
    const lines = conffiles.slice(0, -1).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (Buffer.byteLength(line) + 1 >= MAX_CONFFILE_LINE) return `control member conffiles line ${i + 1}: longer than dpkg accepts (${MAX_CONFFILE_LINE - 2} bytes)`;
      if (line.trim() === '') continue;
      if (!CONFFILE.test(line)) return `control member conffiles line ${i + 1}: not an absolute path: '${line.slice(0, 80)}'`;
    }
  }
  const triggers = files.get('triggers');
  if (triggers !== undefined) {
    const lines = triggers.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (!TRIGGER.test(line)) return `control member triggers line ${i + 1}: not a deb-triggers(5) directive: '${line.slice(0, 80)}'`;
    }
  }
  return null;
}
