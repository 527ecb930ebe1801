// Spec projects shared by several suites.

import { Project } from './project.js';

export const EDGE_NAMES = {
  // > 100 bytes: needs the ustar prefix field
  mid: `/usr/share/edge/${'m'.repeat(60)}/${'n'.repeat(60)}.txt`,
  // > 255 bytes: needs a GNU long-name record
  long: `/usr/share/edge/${'deep/'.repeat(40)}${'l'.repeat(80)}.txt`,
  unicode: '/usr/share/edge/ünïcødé-名前.txt',
  empty: '/usr/share/edge/empty-file',
  exec: '/usr/bin/edge-tool',
  linkLong: '/usr/share/edge/long-link',
  emptyDir: '/var/lib/edge/empty',
};

/** A package that exercises every format corner case. */
export async function edgeProject(version = '1.0~rc1', epoch = '2'): Promise<Project> {
  const longTarget = `/opt/edge/${'t'.repeat(120)}/target`;
  const p = await Project.create({
    'files/mid.txt': 'mid\n',
    'files/long.txt': 'long\n',
    'files/unicode.txt': 'unicode\n',
    'files/empty': '',
    'files/tool': { content: '#!/bin/sh\necho edge\n', mode: 0o755 },
  });
  await p.spec(`
name: edge-case
version: "${version}"
epoch: "${epoch}"
release: "1"
arch: all
maintainer: Edge Tester <edge@example.org>
description: |
  Package with format corner cases
  Long names, unicode names, long link targets, empty files and directories.
license: MIT
contents:
  - { src: files/mid.txt, dst: "${EDGE_NAMES.mid}" }
  - { src: files/long.txt, dst: "${EDGE_NAMES.long}" }
  - { src: files/unicode.txt, dst: "${EDGE_NAMES.unicode}" }
  - { src: files/empty, dst: "${EDGE_NAMES.empty}" }
  - { src: files/tool, dst: "${EDGE_NAMES.exec}" }
  - { src: "${longTarget}", dst: "${EDGE_NAMES.linkLong}", type: symlink }
  - { dst: "${EDGE_NAMES.emptyDir}", type: dir }
`);
  return p;
}

