// Shorthands for the domain errors (model/errors.ts) the operations throw most. No HTTP here:
// http/errors.ts maps each kind to a status and aptly's JSON body.

import { Conflict, Invalid, NotFound } from '../model/errors.js';

export const invalid = (m: string, details?: Record<string, unknown>): Invalid => new Invalid(m, details);
export const notFound = (m: string): NotFound => new NotFound(m);
export const conflict = (m: string, details?: Record<string, unknown>): Conflict => new Conflict(m, details);
