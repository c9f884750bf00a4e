import { mappingProblem } from "@hitrail/conversions";
import {
  type Executor,
  findConversionImport,
  findUserById,
  type ImportMapping,
  insertConversionImport,
  insertOutboxJob,
  newId,
} from "@hitrail/db";
import { outboxJob } from "@hitrail/queue";
import { badRequest, notFound } from "../../errors.ts";
import type { ServiceContext } from "../context.ts";

/** Who ran an import, in words that outlive the account or key. */
export async function actorLabel(tx: Executor, ctx: ServiceContext): Promise<string> {
  if (ctx.actor.kind === "api_key") return `API key ${ctx.actor.apiKeyId}`;
  const user = await findUserById(tx, { userId: ctx.actor.userId });
  return user?.email ?? `user ${ctx.actor.userId}`;
}

export async function createImportRow(
  tx: Executor,
  ctx: ServiceContext,
  input: { fileName: string; format: "csv" | "json"; mapping: ImportMapping; postbacks: boolean },
) {
  const problem = mappingProblem(input.mapping, null);
  if (problem !== null) throw badRequest(`mapping: ${problem}`);
  return insertConversionImport(tx, {
    id: newId(),
    workspaceId: ctx.workspace.id,
    fileName: input.fileName,
    format: input.format,
    mapping: input.mapping,
    options: { postbacks: input.postbacks },
    actorUserId: ctx.actor.kind === "user" ? ctx.actor.userId : null,
    actorApiKeyId: ctx.actor.kind === "api_key" ? ctx.actor.apiKeyId : null,
    actorLabel: await actorLabel(tx, ctx),
  });
}

export async function requireImport(tx: Executor, ctx: ServiceContext, importId: string) {
  const row = await findConversionImport(tx, { workspaceId: ctx.workspace.id, id: importId });
  if (!row) throw notFound("conversion import");
  return row;
}

/** Hands the import to the worker through the outbox, in the caller's transaction. */
export async function enqueueImport(tx: Executor, ctx: ServiceContext, importId: string): Promise<void> {
  await insertOutboxJob(tx, {
    workspaceId: ctx.workspace.id,
    // A fresh job id per start: a failed import started again must not be taken for its earlier job.
    job: outboxJob(
      "import.run",
      { workspaceId: ctx.workspace.id, importId },
      { jobId: `import-${importId}-${newId()}` },
    ),
  });
}
