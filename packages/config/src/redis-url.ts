/**
 * Where Redis is: one server (`redis://`, `rediss://`, what ioredis takes), or a Redis Cluster named by
 * some of its nodes (`redis+cluster://host1:6379,host2:6379`, `rediss+cluster://` for TLS). Any
 * reachable node is enough for the client to learn the others; listing every master survives one
 * of them being down at start. User and password, when given, apply to every node.
 */
export type RedisTarget =
  | { kind: "single"; url: string }
  | {
      kind: "cluster";
      nodes: Array<{ host: string; port: number }>;
      username?: string;
      password?: string;
      tls: boolean;
    };

const CLUSTER = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

export class RedisUrlError extends Error {}

export function parseRedisUrl(url: string): RedisTarget {
  const text = url.trim();
  if (/^rediss?:\/\//.test(text)) {
    if (!URL.canParse(text)) throw new RedisUrlError("must be a redis:// or rediss:// URL");
    return { kind: "single", url: text };
  }
  const match = CLUSTER.exec(text);
  if (!match) {
    throw new RedisUrlError(
      "must be a redis:// or rediss:// URL, or redis+cluster://host1:port,host2:port,… for a Redis Cluster",
    );
  }
  const [, scheme, auth, hosts] = match;
  const nodes = (hosts ?? "").split(",").map((part) => {
    const node = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(part.trim());
    const port = Number(node?.[2]);
    if (!node?.[1] || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new RedisUrlError(`cluster node "${part}" must be host:port`);
    }
    return { host: node[1].replace(/^\[|\]$/g, ""), port };
  });
  const target: RedisTarget = { kind: "cluster", nodes, tls: scheme === "rediss" };
  if (auth) {
    const at = auth.indexOf(":");
    const username = decodeURIComponent(at < 0 ? auth : auth.slice(0, at));
    const password = at < 0 ? "" : decodeURIComponent(auth.slice(at + 1));
    if (username) target.username = username;
    if (password) target.password = password;
  }
  return target;
}

/** The URL with its password masked, for logs and `doctor`. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === "single") return target.url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
  const nodes = target.nodes.map((n) =>
    n.host.includes(":") ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`,
  );
  return `Redis Cluster (${nodes.join(", ")})`;
}
