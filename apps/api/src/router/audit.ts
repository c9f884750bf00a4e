import { listAudit } from "../services/audit/list.ts";
import { router, serviceQuery } from "../trpc.ts";

export const auditRouter = router({
  list: serviceQuery(listAudit),
});
