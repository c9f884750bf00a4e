import { listCosts } from "../services/costs/list.ts";
import { setCost } from "../services/costs/set.ts";
import { undoCost } from "../services/costs/undo.ts";
import { uploadCosts } from "../services/costs/upload.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const costsRouter = router({
  list: serviceQuery(listCosts),
  set: serviceMutation(setCost),
  /** A cost file as CSV text: `date,source,<field>,amount`. */
  upload: serviceMutation(uploadCosts),
  undo: serviceMutation(undoCost),
});
