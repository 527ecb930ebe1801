// Schemas that carry the TypeScript type of the values they describe, so an answer's shape is
// written once: the schema (what /api/openapi.json documents) is declared with these builders
// and the wire type (http/wire.ts, what the encoders must return and the CLI reads) is
// `Static<typeof ITS_SCHEMA>`. A field added to one is in the other; tsc checks the encoders.
// The type is a phantom (never set at run time): the objects are plain JSON schemas.

import type { Schema } from './schema.js';

declare const STATIC: unique symbol;

/** A schema of values of type T (T exists at compile time only). */
export type Typed<T> = Schema & { readonly [STATIC]?: T };

/** The type of the values a typed schema describes. */
export type Static<S> = S extends { readonly [STATIC]?: infer T } ? T : never;

type AnyTyped = Typed<unknown>;
/** An object type written out (hover shows the fields, not the mapped type). */
type Flat<T> = { [K in keyof T]: T[K] } & {};

const typed = <T>(schema: Schema): Typed<T> => schema as Typed<T>;
const described = (description: string | undefined): Schema => (description ? { description } : {});

export const tString = (description?: string, extra: Schema = {}): Typed<string> => typed({ type: 'string', ...described(description), ...extra });
export const tInteger = (description?: string): Typed<number> => typed({ type: 'integer', ...described(description) });
export const tNumber = (description?: string): Typed<number> => typed({ type: 'number', ...described(description) });
export const tBoolean = (description?: string): Typed<boolean> => typed({ type: 'boolean', ...described(description) });
/** Any JSON value (aptly's task detail and return value are whatever the task stored). */
export const tAny = (description: string): Typed<unknown> => typed({ description });

/** One of these strings. */
export const tEnum = <const V extends readonly string[]>(values: V, description?: string): Typed<V[number]> =>
  typed({ type: 'string', enum: values, ...described(description) });

export const tArray = <T>(items: Typed<T>, description?: string): Typed<T[]> => typed({ type: 'array', items, ...described(description) });

/** An object whose keys are data (a color → its weight). */
export const tMap = <T>(values: Typed<T>, description?: string): Typed<Record<string, T>> =>
  typed({ type: 'object', additionalProperties: values, ...described(description) });

/**
 * T or null: OpenAPI 3.0's `nullable`. An object is written out (not a $ref to its component):
 * beside a $ref `nullable` is ignored, and under allOf the referenced object refuses null.
 */
export function tNullable<T>(s: Typed<T>, description?: string): Typed<T | null> {
  if (s.enum) throw new Error('a nullable enum cannot be written for both Ajv and OpenAPI 3.0');
  return typed({ ...s, nullable: true, ...(description ? { description } : {}) });
}

/** Either of two shapes (aptly's package lists: keys, or with format=details the records). */
export const tEither = <A, B>(a: Typed<A>, b: Typed<B>, description?: string): Typed<A | B> => typed({ anyOf: [a, b], ...described(description) });

type Props = Record<string, AnyTyped>;
type ObjectOf<P extends Props, O extends keyof P> = Flat<{ [K in Exclude<keyof P, O>]: Static<P[K]> } & { [K in O]?: Static<P[K]> }>;

/**
 * An answer object: every field required except those listed `optional` (sent only when they
 * apply). Answers stay open (no additionalProperties: false): a client must take a field a
 * newer server adds, as aptly's clients do; the tests close them to catch an undocumented one.
 */
export function tObject<P extends Props, O extends keyof P & string = never>(
  properties: P,
  options: { optional?: readonly O[]; description?: string } = {},
): Typed<ObjectOf<P, O>> {
  const optional: readonly string[] = options.optional ?? [];
  const required = Object.keys(properties).filter((k) => !optional.includes(k));
  return typed({ type: 'object', ...described(options.description), properties, ...(required.length > 0 ? { required } : {}) });
}
