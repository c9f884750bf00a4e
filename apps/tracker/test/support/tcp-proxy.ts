import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

export type ProxyMode = "open" | "refuse";

/**
 * A TCP proxy a test puts between the tracker and a server (Postgres) to cut it off and bring it
 * back without touching the shared server. "open" pipes bytes both ways; "refuse" resets every
 * connection the moment it arrives. `cut()` also kills the connections already open, as a crashed
 * or restarted server would.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  mode: ProxyMode = "open";
  readonly stats = { accepted: 0, refused: 0 };

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts listening on a free local port; returns it. */
  async listen(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  get port(): number {
    if (!this.server) throw new Error("proxy is not listening");
    return (this.server.address() as AddressInfo).port;
  }

  /** The same URL, pointed at the proxy. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = "127.0.0.1";
    u.port = String(this.port);
    return u.toString();
  }

  /** Kills every open connection and refuses new ones until `restore()`. */
  cut(): void {
    this.mode = "refuse";
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.mode = "open";
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === "refuse") {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    this.stats.accepted++;
    const upstream = connect({ host: this.targetHost, port: this.targetPort });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
