/**
 * Turns a start-up failure into one plain line on stderr and a non-zero exit: operators read
 * "cannot reach PostgreSQL at …", not a stack trace.
 */
export function describeStartupError(error: unknown): string {
  // drizzle wraps driver errors ("Failed query: …"); the reason is in the cause.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause && typeof cause === "object" && ("code" in cause || "message" in cause)) {
    return describeStartupError(cause);
  }
  if (error && typeof error === "object") {
    const e = error as {
      name?: string;
      message?: string;
      code?: string;
      address?: string;
      port?: number;
      problems?: string[];
    };
    if (e.name === "ConfigError" && Array.isArray(e.problems))
      return `invalid configuration: ${e.problems.join("; ")}`;
    const where = e.address ? ` at ${e.address}${e.port ? `:${e.port}` : ""}` : "";
    switch (e.code) {
      case "ECONNREFUSED":
        return `connection refused${where}: is the server running?`;
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return `host not found${e.message ? ` (${e.message.replace(/^getaddrinfo \w+ /, "")})` : ""}`;
      case "ETIMEDOUT":
        return `connection timed out${where}`;
      case "28P01":
      case "28000":
        return `PostgreSQL refused the credentials: ${e.message}`;
      case "3D000":
        return `PostgreSQL database does not exist: ${e.message}`;
      case "EADDRINUSE":
        return `port already in use${where}`;
    }
    if (e.message) return e.message.split("\n")[0] ?? "unknown error";
  }
  return String(error);
}

export function exitOnStartupError(app: string, what: string, error: unknown): never {
  process.stderr.write(`hitrail ${app}: ${what}: ${describeStartupError(error)}\n`);
  process.exit(1);
}
