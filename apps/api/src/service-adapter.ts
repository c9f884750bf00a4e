import { TRPCError } from "@trpc/server";
import { ServiceError } from "./errors.ts";

// The one place where what services and the database refuse becomes a tRPC error. Anything not
// recognised here stays an INTERNAL_SERVER_ERROR: a bug, logged and reported.

/** Unique constraints users can run into, in words (Postgres would say only the constraint name). */
const UNIQUE_MESSAGES: Record<string, string> = {
  users_email_key: "an account with this email already exists",
  workspaces_slug_key: "this workspace slug is taken",
  tracking_domains_verified_host_key: "this host is already verified by a workspace",
  tracking_domains_workspace_host_key: "this workspace has already added this host",
  memberships_workspace_id_user_id_pk: "this user is already a member of the workspace",
  funnel_actions_from_number_key: "two actions of one node share a number",
};

interface PgLikeError {
  code?: string;
  constraint_name?: string;
  column_name?: string;
}

function findPgError(error: unknown): PgLikeError | null {
  // drizzle wraps driver errors (DrizzleQueryError.cause); tRPC wraps everything (TRPCError.cause).
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof TRPCError) {
      current = current.cause;
      continue;
    }
    const code = (current as PgLikeError).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return current as PgLikeError;
    current = current.cause;
  }
  return null;
}

function findServiceError(error: unknown): ServiceError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof ServiceError) return current;
    current = current.cause;
  }
  return null;
}

export function toTRPCError(error: unknown): TRPCError | null {
  const service = findServiceError(error);
  if (service) return new TRPCError({ code: service.code, message: service.message, cause: service });
  const pg = findPgError(error);
  if (!pg) return null;
  switch (pg.code) {
    case "23505":
      return new TRPCError({
        code: "CONFLICT",
        message: UNIQUE_MESSAGES[pg.constraint_name ?? ""] ?? "this already exists",
      });
    case "23503":
      return new TRPCError({ code: "NOT_FOUND", message: "something this refers to does not exist" });
    case "22P02":
    case "22001":
    case "22003":
    case "22007":
    case "22008":
      return new TRPCError({
        code: "BAD_REQUEST",
        message: pg.column_name ? `${pg.column_name}: value is not valid` : "a value is not valid",
      });
    case "40001":
    case "40P01":
      return new TRPCError({ code: "CONFLICT", message: "a concurrent change got in the way; try again" });
    default:
      return null;
  }
}
