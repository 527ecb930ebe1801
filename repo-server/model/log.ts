// The logging the domain needs: structured detail plus a message. The server passes its pino
// logger (Fastify's), which has this shape; the domain never imports the web framework for it.

export interface Log {
  info(detail: object, msg: string): void;
  warn(detail: object, msg: string): void;
  error(detail: object, msg: string): void;
}
