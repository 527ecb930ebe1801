// Errors that point at a place in the spec: "debpkg.yaml:12:7: contents[3].src: no file matches".

export type FieldPath = ReadonlyArray<string | number>;

export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

export interface SourcePosition {
  line: number;
  col: number;
}

export class SpecError extends Error {
  readonly field: string;
  constructor(
    readonly path: FieldPath,
    readonly reason: string,
    readonly file?: string,
    readonly position?: SourcePosition,
  ) {
    const field = formatFieldPath(path);
    const where = file ? `${file}${position ? `:${position.line}:${position.col}` : ''}: ` : '';
    super(`${where}${field === '' ? '' : `${field}: `}${reason}`);
    this.field = field;
  }

  /** The same error, located in a file (positions come from the YAML document). */
  locate(file: string, position: SourcePosition | undefined): SpecError {
    return new SpecError(this.path, this.reason, file, position);
  }
}
