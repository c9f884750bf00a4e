import { type Env, requireEnv } from "@hitrail/config";
import { IMPORT_LANES, importConnections } from "@hitrail/conversions";
import {
  createApiKey,
  createDb,
  createWorkspace,
  deadDeliveryIds,
  findWorkspaceBySlug,
  findWorkspaceBySlugOrId,
  isUuid,
  recomputeRollups,
  replayDelivery,
  requeueDelivery,
  resumeTrafficSourcePostbacks,
  runMigrations,
  withWorkspace,
} from "@hitrail/db";
import { describeStartupError } from "@hitrail/observability";
import { deliverJob, jobIds } from "@hitrail/queue";
import { Command, InvalidArgumentError, Option } from "commander";
import { listCostsCommand, setCostCommand, undoCostCommand, uploadCostsCommand } from "./commands/costs.ts";
import { doctor, formatCheck } from "./commands/doctor.ts";
import { importConversionsFile } from "./commands/import-conversions.ts";
import { seedDemo } from "./commands/seed-demo.ts";
import { cliEnv, rawEnv } from "./env.ts";

/** Every failure ends as one line on stderr and exit code 1: operators read reasons, not stacks. */
async function guarded(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    process.stderr.write(`hitrail ${what}: ${describeStartupError(error)}\n`);
    process.exitCode = 1;
  }
}

function dbEnv(): Env & { DATABASE_URL: string } {
  return requireEnv(cliEnv(), ["DATABASE_URL"]);
}

/**
 * Commands connect as the apps' role (row-level security applies); work across every workspace
 * (`rollups recompute` without --workspace) as the maintenance role.
 */
async function withDb<T>(
  fn: (db: ReturnType<typeof createDb>) => Promise<T>,
  opts: { maintenance?: boolean; connections?: number } = {},
): Promise<T> {
  const url = opts.maintenance
    ? requireEnv(cliEnv(), ["MAINTENANCE_DATABASE_URL"]).MAINTENANCE_DATABASE_URL
    : dbEnv().DATABASE_URL;
  const client = createDb(url, {
    max: opts.connections ?? 2,
    connectTimeoutSeconds: 5,
    applicationName: "hitrail-cli",
  });
  try {
    return await fn(client);
  } finally {
    await client.close(2);
  }
}

/** A commander parser for a whole number ≥ 1, with the option's name in the error. */
function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name}: a whole number from 1`);
    return n;
  };
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

export function buildCli(): Command {
  const program = new Command("hitrail").description("Hitrail operator commands").showHelpAfterError();

  program
    .command("migrate")
    .description("apply pending database migrations and create hit partitions ahead")
    .action(() =>
      guarded("migrate", async () => {
        // As the owner (MIGRATE_DATABASE_URL); it provisions the roles the apps connect as.
        const env = cliEnv();
        const owner = env.MIGRATE_DATABASE_URL ?? dbEnv().DATABASE_URL;
        const { applied, roles } = await runMigrations(owner, {
          app: env.MIGRATE_DATABASE_URL ? env.DATABASE_URL : undefined,
          maintenance: env.MAINTENANCE_DATABASE_URL,
        });
        process.stdout.write(
          applied === 0 ? "database is up to date\n" : `applied ${applied} migration(s)\n`,
        );
        if (roles.length > 0) process.stdout.write(`roles ready: ${roles.join(", ")}\n`);
        if (!env.MIGRATE_DATABASE_URL) {
          process.stderr.write(
            "hitrail migrate: MIGRATE_DATABASE_URL is unset, so the apps' DATABASE_URL is the owner's and row-level security does not hold them (docs/security-tenancy.md)\n",
          );
        }
      }),
    );

  program
    .command("seed-demo")
    .description("create the demo workspace (idempotent) and print how to use it")
    .option("--json", "print one JSON object")
    .option("--ts-postback-url <url>", "traffic-source postback receiver for the demo traffic source")
    .action((opts: { json?: boolean; tsPostbackUrl?: string }) =>
      guarded("seed-demo", async () => {
        if (opts.tsPostbackUrl && !URL.canParse(opts.tsPostbackUrl)) {
          throw new Error(`--ts-postback-url '${opts.tsPostbackUrl}' is not a URL`);
        }
        const env = dbEnv();
        const seed = await withDb((c) =>
          seedDemo(c.db, env, opts.tsPostbackUrl ? { tsPostbackUrl: opts.tsPostbackUrl } : {}),
        );
        if (opts.json) return print(seed);
        process.stdout.write(
          [
            `demo workspace ${seed.created ? "created" : "already there"}: ${seed.trackingDomain}`,
            `entrance link:   ${seed.entranceUrl}`,
            `postback URL:    ${seed.postbackUrl}`,
            `API key:         ${seed.apiKey}`,
            ...(seed.signIn
              ? [`dashboard:       sign in as ${seed.signIn.email} / ${seed.signIn.password}`]
              : []),
            "",
          ].join("\n"),
        );
      }),
    );

  const workspace = program.command("workspace").description("manage workspaces");
  workspace
    .command("create")
    .description("create a workspace with its default tracking domain")
    .requiredOption("--slug <slug>", "short name; the tracking domain is {slug}.{BASE_DOMAIN}")
    .option("--name <name>", "display name")
    .option("--time-zone <tz>", "IANA time zone for reports", "UTC")
    .option("--currency <code>", "ISO currency code", "USD")
    .action((opts: { slug: string; name?: string; timeZone: string; currency: string }) =>
      guarded("workspace create", async () => {
        const env = dbEnv();
        const result = await withDb(async (c) => {
          if (await findWorkspaceBySlug(c.db, opts.slug))
            throw new Error(`workspace '${opts.slug}' already exists`);
          return c.db.transaction((tx) =>
            createWorkspace(tx, {
              slug: opts.slug,
              name: opts.name ?? opts.slug,
              baseDomain: env.BASE_DOMAIN,
              timeZone: opts.timeZone,
              currency: opts.currency,
            }),
          );
        });
        print({ workspaceId: result.workspace.id, slug: result.workspace.slug, trackingDomain: result.host });
      }),
    );

  const apiKey = program.command("api-key").description("manage API keys");
  apiKey
    .command("create")
    .description("create an API key for a workspace; the key is printed once")
    .requiredOption("--workspace <slug-or-id>", "the workspace")
    .option("--name <name>", "what the key is for", "CLI key")
    .addOption(
      new Option("--role <role>", "role the key acts with")
        .choices(["owner", "admin", "member", "viewer"])
        .default("admin"),
    )
    .action((opts: { workspace: string; name: string; role: "owner" | "admin" | "member" | "viewer" }) =>
      guarded("api-key create", async () => {
        const result = await withDb(async (c) => {
          const ws = await findWorkspaceBySlugOrId(c.db, opts.workspace);
          if (!ws) throw new Error(`no workspace '${opts.workspace}'`);
          const key = await createApiKey(c.db, { workspaceId: ws.id, name: opts.name, role: opts.role });
          return { workspaceId: ws.id, ...key };
        });
        print({ ...result, note: "store this key now: it is not shown again" });
      }),
    );

  const conversions = program.command("conversions").description("conversions");
  conversions
    .command("import")
    .description(
      "import conversions from a CSV file through the postback's rules (resumes an unfinished import of the same file)",
    )
    .argument("<file>", "CSV file: a header row, then one conversion per row")
    .requiredOption("--workspace <slug-or-id>", "the workspace")
    .option("--map <pairs>", "columns, as field=column pairs: hit, external, vid, p, tx, rev, status, ts, e")
    .option(
      "--postbacks",
      "fire traffic-source postbacks for what the import changes (off by default)",
      false,
    )
    .option("--json", "print the import's record as JSON")
    .addOption(
      new Option("--lanes <n>", "batches committing side by side (rows of one hit always share one)")
        .argParser(positiveInt("--lanes"))
        .default(IMPORT_LANES),
    )
    .action(
      (
        file: string,
        opts: { workspace: string; map?: string; postbacks: boolean; json?: boolean; lanes: number },
      ) =>
        guarded("conversions import", async () => {
          const result = await withDb(
            async (c) => {
              const ws = await findWorkspaceBySlugOrId(c.db, opts.workspace);
              if (!ws) throw new Error(`no workspace '${opts.workspace}'`);
              return importConversionsFile(c, {
                workspace: ws,
                file,
                ...(opts.map ? { map: opts.map } : {}),
                postbacks: opts.postbacks,
                lanes: opts.lanes,
                progress: opts.json ? null : process.stderr,
              });
            },
            { connections: importConnections(opts.lanes) },
          );
          const r = result.import;
          if (opts.json) {
            print({
              id: r.id,
              status: r.status,
              resumed: result.resumed,
              rows: r.rowsDone,
              created: r.created,
              updated: r.updated,
              deleted: r.deleted,
              unchanged: r.unchanged,
              refused: r.refused,
              seconds: result.seconds,
              rowsSeconds: result.rowsSeconds,
            });
          } else {
            process.stdout.write(
              `import ${r.id}${result.resumed ? " (resumed)" : ""}: ${r.rowsDone} rows in ${result.seconds.toFixed(1)} s — ` +
                `${r.created} created, ${r.updated} updated, ${r.deleted} deleted, ${r.unchanged} unchanged, ${r.refused} refused\n`,
            );
          }
        }),
    );

  const rollups = program.command("rollups").description("reporting rollups");
  rollups
    .command("recompute")
    .description("rebuild rollups for a time range from raw hits and conversions")
    .requiredOption("--from <time>", "start (ISO-8601), rounded down to the hour")
    .option("--to <time>", "end (ISO-8601), rounded up to the hour; default now")
    .option("--workspace <id>", "one workspace (default every workspace)")
    .action((opts: { from: string; to?: string; workspace?: string }) =>
      guarded("rollups recompute", async () => {
        const from = new Date(opts.from);
        const to = opts.to ? new Date(opts.to) : new Date();
        if (Number.isNaN(from.getTime())) throw new Error(`--from '${opts.from}' is not a time`);
        if (Number.isNaN(to.getTime())) throw new Error(`--to '${opts.to}' is not a time`);
        if (to <= from) throw new Error("--to must be after --from");
        if (opts.workspace && !isUuid(opts.workspace))
          throw new Error(`--workspace '${opts.workspace}' is not an id`);
        const summary = await withDb(
          (c) =>
            recomputeRollups(c.db, { from, to, ...(opts.workspace ? { workspaceId: opts.workspace } : {}) }),
          { maintenance: !opts.workspace },
        );
        print(summary);
      }),
    );

  const costs = program.command("costs").description("cost updates (docs/costs.md)");
  costs
    .command("set")
    .description("set the cost of a traffic source, a funnel or a tracking-field value over a local range")
    .requiredOption("--workspace <slug-or-id>", "the workspace")
    .option("--traffic-source <id>", "the traffic source")
    .option("--funnel <id>", "the funnel")
    .option("--field <name=value>", "a tracking-field value, such as zone=12345")
    .requiredOption(
      "--from <local>",
      "local date or date-time in the workspace's zone (2026-05-01, 2026-05-01T10:00)",
    )
    .requiredOption("--to <local>", "local date (inclusive) or date-time (exclusive)")
    .requiredOption("--amount <amount>", "the total for the range (or per visit with --per-visit)")
    .option("--per-visit", "the amount is the price of each visit")
    .action((opts: Parameters<typeof setCostCommand>[1]) =>
      guarded("costs set", async () => print(await withDb((c) => setCostCommand(c.db, opts)))),
    );
  costs
    .command("upload")
    .description("apply a cost file (date,source,<field>,amount); a file with a bad line changes nothing")
    .requiredOption("--workspace <slug-or-id>", "the workspace")
    .argument("<file>", "the CSV file")
    .action((file: string, opts: { workspace: string }) =>
      guarded("costs upload", async () =>
        print(await withDb((c) => uploadCostsCommand(c.db, { workspace: opts.workspace, file }))),
      ),
    );
  costs
    .command("list")
    .description("cost updates, newest first")
    .requiredOption("--workspace <slug-or-id>", "the workspace")
    .option("--limit <n>", "how many", "50")
    .action((opts: { workspace: string; limit: string }) =>
      guarded("costs list", async () => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Error("--limit takes 1-500");
        print(await withDb((c) => listCostsCommand(c.db, { workspace: opts.workspace, limit })));
      }),
    );
  costs
    .command("undo")
    .description("take a cost update back: its visits cost again what they cost before it")
    .requiredOption("--workspace <slug-or-id>", "the workspace")
    .requiredOption("--update <id>", "the cost update")
    .action((opts: { workspace: string; update: string }) =>
      guarded("costs undo", async () => print(await withDb((c) => undoCostCommand(c.db, opts)))),
    );

  const deliveries = program.command("deliveries").description("traffic-source postback deliveries");
  deliveries
    .command("replay")
    .description(
      "send a finished delivery (delivered, dead or cancelled) again, or every dead delivery of a traffic source since a time",
    )
    .requiredOption("--workspace <id>", "the workspace id")
    .option("--delivery <id>", "one delivery")
    .option("--traffic-source <id>", "with --since: every dead delivery of this traffic source")
    .option("--since <time>", "ISO-8601; with --traffic-source")
    .action((opts: { workspace: string; delivery?: string; trafficSource?: string; since?: string }) =>
      guarded("deliveries replay", async () => {
        if (!isUuid(opts.workspace)) throw new Error("--workspace takes an id");
        if (opts.delivery !== undefined) {
          if (!isUuid(opts.delivery)) throw new Error("--delivery takes an id");
          const result = await withDb((c) =>
            replayDelivery(c.db, {
              workspaceId: opts.workspace,
              deliveryId: opts.delivery as string,
              job: deliverJob(
                opts.workspace,
                opts.delivery as string,
                jobIds.deliverReplay(opts.delivery as string, new Date()),
              ),
            }),
          );
          if (!result.ok) throw new Error(result.reason);
          print(result);
          return;
        }
        if (opts.trafficSource === undefined || opts.since === undefined)
          throw new Error("name --delivery, or --traffic-source and --since");
        if (!isUuid(opts.trafficSource)) throw new Error("--traffic-source takes an id");
        const since = new Date(opts.since);
        if (Number.isNaN(since.getTime())) throw new Error(`--since '${opts.since}' is not a time`);
        const workspaceId = opts.workspace;
        const trafficSourceId = opts.trafficSource;
        const result = await withDb((c) =>
          withWorkspace(c.db, workspaceId, async (tx) => {
            const ids = await deadDeliveryIds(tx, { workspaceId, trafficSourceId, since, limit: 100_000 });
            let replayed = 0;
            for (const deliveryId of ids) {
              const job = deliverJob(workspaceId, deliveryId, jobIds.deliverReplay(deliveryId, new Date()));
              if ((await requeueDelivery(tx, { workspaceId, deliveryId, job })).ok) replayed++;
            }
            return { replayed, trafficSourceId, since: since.toISOString() };
          }),
        );
        print(result);
      }),
    );

  deliveries
    .command("resume")
    .description("re-enable a traffic source's disabled postback endpoint and send its paused deliveries")
    .requiredOption("--workspace <id>", "the workspace id")
    .requiredOption("--traffic-source <id>", "the traffic source id")
    .action((opts: { workspace: string; trafficSource: string }) =>
      guarded("deliveries resume", async () => {
        if (!isUuid(opts.workspace) || !isUuid(opts.trafficSource))
          throw new Error("--workspace and --traffic-source take ids");
        const result = await withDb((c) =>
          withWorkspace(c.db, opts.workspace, (tx) =>
            resumeTrafficSourcePostbacks(tx, {
              workspaceId: opts.workspace,
              trafficSourceId: opts.trafficSource,
              jobFor: (deliveryId) =>
                deliverJob(opts.workspace, deliveryId, jobIds.deliverResume(deliveryId, new Date())),
            }),
          ),
        );
        if (!result.found) throw new Error(`no traffic source '${opts.trafficSource}' in this workspace`);
        print({ resumed: result.resumed, trafficSourceId: opts.trafficSource });
      }),
    );

  program
    .command("doctor")
    .description("check configuration, PostgreSQL, migrations and Redis")
    .action(() =>
      guarded("doctor", async () => {
        const checks = await doctor(rawEnv());
        for (const c of checks) process.stdout.write(`${formatCheck(c)}\n`);
        if (checks.some((c) => !c.ok && !c.warning)) process.exitCode = 1;
      }),
    );

  return program;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildCli().parseAsync(process.argv);
}
