import type { FastifyBaseLogger } from "fastify";

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger["child"]>[1];

/**
 * `request.log` made on the first line a request writes. Fastify gives every request a child logger
 * bound to its request id, and a pino child costs more than parsing a postback's parameters (about 3%
 * of the tracker's CPU on postbacks, profiled); a click or a postback that succeeds logs nothing.
 * The first line makes the real child, with the same bindings and options, and every later line goes
 * to it: what is logged, and how, does not change. Methods live on the prototype, so a request that
 * never logs allocates this one small object.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  #made: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private get made(): FastifyBaseLogger {
    this.#made ??= this.parent.child(this.bindings, this.options);
    return this.#made;
  }

  get level(): FastifyBaseLogger["level"] {
    return this.#made?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: FastifyBaseLogger["level"]) {
    this.made.level = level;
  }

  fatal(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.fatal, made, args);
  }

  error(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.error, made, args);
  }

  warn(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.warn, made, args);
  }

  info(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.info, made, args);
  }

  debug(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.debug, made, args);
  }

  trace(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.trace, made, args);
  }

  silent(...args: unknown[]): void {
    const made = this.made;
    Reflect.apply(made.silent, made, args);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.made.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: a request's logger, made when it first logs (LazyRequestLogger). */
export function lazyRequestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
