import { createApiKey } from "../services/api-keys/create.ts";
import { listApiKeys } from "../services/api-keys/list.ts";
import { revokeApiKey } from "../services/api-keys/revoke.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const apiKeysRouter = router({
  list: serviceQuery(listApiKeys),
  create: serviceMutation(createApiKey),
  revoke: serviceMutation(revokeApiKey),
});
