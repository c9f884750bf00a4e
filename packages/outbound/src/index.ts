import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from "request-filtering-agent";

// The outbound guard every request Hitrail makes to a URL a tenant chose goes through (traffic-source
// postbacks in the worker, custom-domain verification in the api): every address a host resolves to
// is checked when the connection is made, so a name pointing at 127.0.0.1, 10/8, 169.254.169.254
// (cloud metadata) and the like is refused after resolution, not just literal IPs. An operator may
// allow private ranges with OUTBOUND_ALLOW_CIDRS (on-prem receivers, tests).

/** Problems with an OUTBOUND_ALLOW_CIDRS list, in plain words (empty when it is fine). */
export function allowListProblems(list: readonly string[]): string[] {
  return list
    .filter((entry) => !ipaddr.isValid(entry) && !ipaddr.isValidCIDR(entry))
    .map((entry) => `OUTBOUND_ALLOW_CIDRS entry '${entry}' is neither an IP address nor a CIDR`);
}

export interface GuardedAgents {
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

/** HTTP and HTTPS agents that refuse private, loopback, link-local and metadata addresses. */
export function createGuardedAgents(
  allowCidrs: readonly string[],
  agentOptions: http.AgentOptions = {},
): GuardedAgents {
  const problems = allowListProblems(allowCidrs);
  if (problems.length > 0) throw new Error(problems.join("; "));
  const filter = {
    allowPrivateIPAddress: false,
    allowMetaIPAddress: false,
    allowIPAddressList: [...allowCidrs],
  };
  const httpAgent = new RequestFilteringHttpAgent({ ...agentOptions, ...filter });
  const httpsAgent = new RequestFilteringHttpsAgent({ ...agentOptions, ...filter });
  return {
    http: httpAgent,
    https: httpsAgent,
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

const NOT_ALLOWED = /is not allowed\. Because/;

/** The guard's refusal in plain words, or null when `error` is something else. */
export function describeRefusal(error: Error, hostname: string): string | null {
  if (!NOT_ALLOWED.test(error.message)) return null;
  const address = /DNS lookup ([^\s(]+)/.exec(error.message)?.[1] ?? hostname;
  return (
    `refused: ${hostname} resolves to ${address}, a private, loopback, link-local or metadata address ` +
    "(an operator can allow it with OUTBOUND_ALLOW_CIDRS)"
  );
}

export class OutboundRefused extends Error {
  override name = "OutboundRefused";
}

export interface FetchTextOptions {
  agents: GuardedAgents;
  timeoutMs: number;
  /** The body is read this far, then the connection is dropped. */
  maxBytes: number;
  /** DNS resolution (tests put a fake resolver here); the guard checks whatever it answers. */
  lookup?: LookupFunction;
}

/**
 * A GET through the guard: redirects are never followed, the body is read up to `maxBytes`. Rejects
 * with OutboundRefused when the guard refuses the address, with the network error otherwise.
 */
export function fetchText(url: string, opts: FetchTextOptions): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return Promise.reject(new OutboundRefused(`only http and https are fetched, not ${target.protocol}`));
  }
  const signal = AbortSignal.timeout(opts.timeoutMs);
  return new Promise((resolve, reject) => {
    const request = target.protocol === "https:" ? https.request : http.request;
    const req = request(target, {
      method: "GET",
      headers: { "user-agent": "Hitrail-Verify/1.0", accept: "text/plain, */*" },
      agent: target.protocol === "https:" ? opts.agents.https : opts.agents.http,
      signal,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).subarray(0, opts.maxBytes).toString("utf8"),
        });
      };
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        chunks.push(chunk);
        if (bytes >= opts.maxBytes) {
          finish();
          res.destroy();
        }
      });
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", finish);
    });
    req.on("error", (error) => {
      const refusal = describeRefusal(error, target.hostname);
      reject(refusal ? new OutboundRefused(refusal) : error);
    });
    req.end();
  });
}
