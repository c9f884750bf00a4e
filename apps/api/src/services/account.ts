import type { Database } from "@hitrail/db";
import type { Limits } from "../auth/limits.ts";
import type { Principal } from "../auth/principal.ts";
import type { Mailer } from "../mail.ts";
import type { ApiSettings } from "../settings.ts";

/** What account services get: they act on users and memberships, outside any one workspace. */
export interface AccountContext {
  db: Database;
  settings: ApiSettings;
  principal: Principal | null;
  limits: Limits;
  /** The client's address, for attempt limits. */
  address: string;
  mailer: Mailer | null;
}

export type UserPrincipal = Extract<Principal, { kind: "user" }>;
