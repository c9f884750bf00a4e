import type { Executor, ObjectListInput } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id, listInput, nextCursor } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";

interface ObjectQueries<Row> {
  list(db: Executor, input: ObjectListInput): Promise<Row[]>;
  find(db: Executor, input: { workspaceId: string; id: string }): Promise<Row | undefined>;
  setArchived(
    db: Executor,
    input: { workspaceId: string; id: string; archived: boolean },
  ): Promise<Row | undefined>;
}

/**
 * list, get and archive of a campaign object: the same three verbs for every kind, so they are made
 * here once. Create and update differ per kind and have their own files.
 */
export function objectReadServices<Row extends { id: string }, K extends string, O extends z.ZodType>(def: {
  /** The entity in messages and audit rows: "offer", "traffic source", … */
  entity: string;
  idField: K;
  queries: ObjectQueries<Row>;
  output: O;
  toOutput: (row: Row) => z.input<O>;
}) {
  const idShape = { [def.idField]: id } as { [P in K]: typeof id };
  const idOf = (input: Record<K, string>) => input[def.idField];
  const auditEntity = def.entity.replace(/ /g, "_");

  const list = workspaceService({
    role: "viewer",
    input: listInput,
    output: z.object({ items: z.array(def.output), nextCursor: z.string().nullable() }),
    run: ({ ctx, input }) =>
      inWorkspace(ctx, async (tx) => {
        const rows = await def.queries.list(tx, { workspaceId: ctx.workspace.id, ...input });
        return { items: rows.map(def.toOutput), nextCursor: nextCursor(rows, input.limit) };
      }),
  });

  const get = workspaceService({
    role: "viewer",
    input: z.object(idShape),
    output: def.output,
    run: ({ ctx, input }) =>
      inWorkspace(ctx, async (tx) => {
        const row = await def.queries.find(tx, {
          workspaceId: ctx.workspace.id,
          id: idOf(input as Record<K, string>),
        });
        if (!row) throw notFound(def.entity);
        return def.toOutput(row);
      }),
  });

  const archive = workspaceService({
    role: "member",
    input: z.object({ ...idShape, archived: z.boolean().default(true) }),
    output: def.output,
    run: ({ ctx, input }) =>
      inWorkspace(ctx, async (tx) => {
        const { archived } = input as { archived: boolean };
        const row = await def.queries.setArchived(tx, {
          workspaceId: ctx.workspace.id,
          id: idOf(input as Record<K, string>),
          archived,
        });
        if (!row) throw notFound(def.entity);
        await audit(tx, ctx, {
          action: `${auditEntity}.${archived ? "archive" : "restore"}`,
          entity: auditEntity,
          entityId: row.id,
        });
        return def.toOutput(row);
      }),
  });

  return { list, get, archive };
}
