import http from "node:http";
import https from "node:https";
import { allowListProblems, createGuardedAgents, describeRefusal } from "@hitrail/outbound";

export { allowListProblems };

/** How one HTTP attempt ended. Only `ok` is a delivery; `refused` and `invalid` can never succeed. */
export type SendOutcome = "ok" | "http" | "refused" | "invalid" | "timeout" | "network";

export interface SendResult {
  outcome: SendOutcome;
  statusCode: number | null;
  /** Until the response headers (or the failure). */
  latencyMs: number;
  /** Plain words for the delivery log; null on success. */
  error: string | null;
  /** From a `Retry-After` header (seconds or an HTTP date), in ms from now. */
  retryAfterMs: number | null;
}

export interface SenderOptions {
  /** CIDRs (or single addresses) the operator allows although private (OUTBOUND_ALLOW_CIDRS). */
  allowCidrs: readonly string[];
  /** Whole-request deadline: connect, headers and body. */
  timeoutMs: number;
  userAgent?: string;
}

export interface SendOptions {
  /**
   * Sent as `Idempotency-Key`: the same on every attempt of one delivery, another for the next
   * revision of the conversion, so a receiver can drop the duplicates at-least-once delivery allows.
   */
  idempotencyKey?: string;
}

export interface PostbackSender {
  send(url: string, options?: SendOptions): Promise<SendResult>;
  close(): void;
}

/** The `Idempotency-Key` of a delivery: `{deliveryId}:{revision}` (docs/postback-delivery.md). */
export function deliveryIdempotencyKey(delivery: { id: string; revision: number }): string {
  return `${delivery.id}:${delivery.revision}`;
}

/** Non-2xx bodies are read this far for the delivery log; anything longer is dropped with the socket. */
const SNIPPET_BYTES = 512;
const MAX_BODY_BYTES = 64 * 1024;

export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return null;
  if (/^\d+$/.test(raw)) return Number(raw) * 1_000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

// A receiver's error page goes into one log line: control characters (newlines, NUL) become spaces.
// biome-ignore lint/suspicious/noControlCharactersInRegex: they are exactly what is being removed
const CONTROL = /[\u0000-\u001f\u007f]+/g;

function snippet(body: Buffer): string {
  return body.toString("utf8").replace(CONTROL, " ").trim().slice(0, 200);
}

function describeError(error: NodeJS.ErrnoException, hostname: string, timeoutMs: number, timedOut: boolean) {
  const refusal = describeRefusal(error, hostname);
  if (refusal) return { outcome: "refused" as const, error: refusal };
  if (timedOut || error.name === "AbortError" || error.name === "TimeoutError") {
    return { outcome: "timeout" as const, error: `timeout: no response within ${timeoutMs / 1000} s` };
  }
  switch (error.code) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { outcome: "network" as const, error: `host not found: ${hostname}` };
    case "ECONNREFUSED":
      return { outcome: "network" as const, error: `connection refused by ${hostname}` };
    case "ECONNRESET":
    case "EPIPE":
      return { outcome: "network" as const, error: `connection reset by ${hostname}` };
  }
  const tls = error.code?.startsWith("ERR_TLS") || error.code?.includes("CERT") ? "TLS error: " : "";
  return { outcome: "network" as const, error: `${tls}${error.message}` };
}

/**
 * Sends postbacks through the outbound guard (@hitrail/outbound): every address a host resolves to is
 * checked at connect time, so a DNS name pointing at 127.0.0.1, 10/8, 169.254.169.254 (cloud metadata)
 * and the like is refused after resolution, not just literal IPs. Connections are kept alive per
 * host. Redirects are never followed.
 */
export function createPostbackSender(opts: SenderOptions): PostbackSender {
  const agents = createGuardedAgents(opts.allowCidrs, {
    keepAlive: true,
    keepAliveMsecs: 1_000,
    maxSockets: 256,
    maxFreeSockets: 32,
  });
  const httpAgent = agents.http;
  const httpsAgent = agents.https;
  const headers = { "user-agent": opts.userAgent ?? "Hitrail-Postback/1.0", accept: "*/*" };

  function send(url: string, options: SendOptions = {}): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    if (!URL.canParse(url)) {
      return Promise.resolve({
        outcome: "invalid",
        statusCode: null,
        latencyMs: 0,
        error: "invalid URL: not a URL",
        retryAfterMs: null,
      });
    }
    const target = new URL(url);
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      return Promise.resolve({
        outcome: "invalid",
        statusCode: null,
        latencyMs: 0,
        error: `invalid URL: only http and https postbacks are sent, not ${target.protocol}`,
        retryAfterMs: null,
      });
    }
    const signal = AbortSignal.timeout(opts.timeoutMs);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (r: SendResult) => {
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      const request = target.protocol === "https:" ? https.request : http.request;
      const req = request(target, {
        method: "GET",
        headers: options.idempotencyKey ? { ...headers, "idempotency-key": options.idempotencyKey } : headers,
        agent: target.protocol === "https:" ? httpsAgent : httpAgent,
        signal,
      });
      req.on("response", (res) => {
        const latencyMs = elapsed();
        const statusCode = res.statusCode ?? 0;
        const retryAfterMs = parseRetryAfter(res.headers["retry-after"], Date.now());
        const ok = statusCode >= 200 && statusCode < 300;
        const chunks: Buffer[] = [];
        let bytes = 0;
        const conclude = () => {
          if (ok) return finish({ outcome: "ok", statusCode, latencyMs, error: null, retryAfterMs });
          const body = snippet(Buffer.concat(chunks).subarray(0, SNIPPET_BYTES));
          const error =
            statusCode >= 300 && statusCode < 400
              ? `redirect (HTTP ${statusCode}) to ${res.headers.location ?? "nowhere"} not followed`
              : `HTTP ${statusCode}${body ? `: ${body}` : ""}`;
          finish({ outcome: "http", statusCode, latencyMs, error, retryAfterMs });
        };
        // A 2xx is the answer: the body only has to be drained so the connection can be reused.
        if (ok) conclude();
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= SNIPPET_BYTES) chunks.push(chunk);
          if (bytes > MAX_BODY_BYTES) res.destroy();
        });
        res.on("end", conclude);
        res.on("close", conclude);
        res.on("error", conclude);
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        const described = describeError(error, target.hostname, opts.timeoutMs, signal.aborted);
        finish({ ...described, statusCode: null, latencyMs: elapsed(), retryAfterMs: null });
      });
      req.end();
    });
  }

  return {
    send,
    close() {
      agents.destroy();
    },
  };
}
