import { runStoredImport } from "@hitrail/conversions";
import type { DbClient } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { JobHandler } from "./base.ts";

/**
 * `import.run`: runs a conversion import from its stored file. A retry (or a job handed over after a
 * worker died) resumes after the last committed batch; progress is in the import's row for the
 * dashboard and the CLI to poll.
 */
export function runImportJob(deps: {
  db: Pick<DbClient, "db" | "sql">;
  logger: Logger;
}): JobHandler<"import.run"> {
  return async ({ workspaceId, importId }) => {
    const done = await runStoredImport({ client: deps.db, workspaceId, importId });
    deps.logger.info(
      {
        workspaceId,
        importId,
        rows: done.rowsDone,
        created: done.created,
        updated: done.updated,
        deleted: done.deleted,
        unchanged: done.unchanged,
        refused: done.refused,
      },
      "conversion import done",
    );
    return { rows: done.rowsDone };
  };
}
