import { randomUUID } from "node:crypto";

/**
 * What a service can refuse with. Services throw these; the adapter in service-adapter.ts is the one
 * place that turns them (and database errors) into tRPC errors.
 */
export type ServiceErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PRECONDITION_FAILED"
  | "TOO_MANY_REQUESTS";

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** Structured detail for the client (e.g. every problem of a funnel), sent as `data.details`. */
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ServiceError";
  }
}

export const notFound = (what: string) => new ServiceError("NOT_FOUND", `${what} not found`);
export const badRequest = (message: string, details?: unknown) =>
  new ServiceError("BAD_REQUEST", message, details);
export const forbidden = (message: string) => new ServiceError("FORBIDDEN", message);
export const conflict = (message: string) => new ServiceError("CONFLICT", message);

const errorIds = new WeakMap<object, string>();

/**
 * The id an unexpected error is known by: in the answer (so a user can report it) and in the log
 * line that carries its details. The same error object always gets the same id.
 */
export function errorIdOf(error: object): string {
  let id = errorIds.get(error);
  if (!id) {
    id = randomUUID();
    errorIds.set(error, id);
  }
  return id;
}
