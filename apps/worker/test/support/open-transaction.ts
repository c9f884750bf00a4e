import type { DbClient } from "@hitrail/db";

/**
 * A transaction on `client` that writes and stays open until `commit` or `rollback` is called: a
 * writer still in flight while a sweep runs.
 */
export async function openTransaction(client: DbClient, write: (tx: DbClient["db"]) => Promise<unknown>) {
  let finish: (ok: boolean) => void = () => {};
  const decided = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  let written: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    written = resolve;
  });
  const done = client.db
    .transaction(async (tx) => {
      await write(tx as unknown as DbClient["db"]);
      written();
      if (!(await decided)) throw new Error("rolled back on purpose");
    })
    .catch((error: Error) => {
      if (error.message !== "rolled back on purpose") throw error;
    });
  await ready;
  return {
    commit: async () => {
      finish(true);
      await done;
    },
    rollback: async () => {
      finish(false);
      await done;
    },
  };
}
