import { addDomain } from "../services/domains/add.ts";
import { listDomains } from "../services/domains/list.ts";
import { removeDomain } from "../services/domains/remove.ts";
import { verifyDomain } from "../services/domains/verify.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const domainsRouter = router({
  list: serviceQuery(listDomains),
  add: serviceMutation(addDomain),
  verify: serviceMutation(verifyDomain),
  remove: serviceMutation(removeDomain),
});
