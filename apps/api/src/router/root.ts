import { router } from "../trpc.ts";
import { apiKeysRouter } from "./api-keys.ts";
import { auditRouter } from "./audit.ts";
import { authRouter } from "./auth.ts";
import { costsRouter } from "./costs.ts";
import { domainsRouter } from "./domains.ts";
import { eventTypesRouter } from "./event-types.ts";
import { funnelsRouter } from "./funnels.ts";
import { importsRouter } from "./imports.ts";
import { invitationsRouter } from "./invitations.ts";
import { landersRouter } from "./landers.ts";
import { conversionsRouter, deliveriesRouter, postbacksRouter } from "./logs.ts";
import { membersRouter } from "./members.ts";
import { offerSourcesRouter } from "./offer-sources.ts";
import { offersRouter } from "./offers.ts";
import { reportsRouter } from "./reports.ts";
import { systemRouter } from "./system.ts";
import { trackingCodesRouter } from "./tracking-codes.ts";
import { trafficSourcesRouter } from "./traffic-sources.ts";
import { workspacesRouter } from "./workspaces.ts";

export const appRouter = router({
  system: systemRouter,
  auth: authRouter,
  workspaces: workspacesRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  apiKeys: apiKeysRouter,
  audit: auditRouter,
  domains: domainsRouter,
  trafficSources: trafficSourcesRouter,
  offerSources: offerSourcesRouter,
  offers: offersRouter,
  landers: landersRouter,
  eventTypes: eventTypesRouter,
  funnels: funnelsRouter,
  trackingCodes: trackingCodesRouter,
  conversions: conversionsRouter,
  postbacks: postbacksRouter,
  deliveries: deliveriesRouter,
  reports: reportsRouter,
  costs: costsRouter,
  imports: importsRouter,
});

export type AppRouter = typeof appRouter;
