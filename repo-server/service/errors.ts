// Errors the API turns into aptly-style JSON: {"error": "..."} with a 4xx/5xx status.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra fields merged into the JSON body (e.g. FailedFiles, Report). */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const badRequest = (m: string): ApiError => new ApiError(400, m);
export const notFound = (m: string): ApiError => new ApiError(404, m);
export const conflict = (m: string, body?: Record<string, unknown>): ApiError => new ApiError(409, m, body);
