// The index types every publish writes, per component and architecture. A new index (Contents) is one module implementing IndexType (index-type.ts) plus one entry here.

import type { IndexType } from './index-type.js';
import { PackagesIndex } from './packages-index.js';
import { SourcesIndex } from './sources-index.js';

/** Each publisher makes its own instances: they hold its caches. */
export const INDEX_TYPES: readonly (() => IndexType)[] = [() => new PackagesIndex(), () => new PackagesIndex(true), () => new SourcesIndex()];
