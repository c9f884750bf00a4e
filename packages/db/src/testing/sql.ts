// For tests and benchmarks only: drizzle's operators and the schema, to set up and inspect rows
// directly. Apps' own code reaches the database through the query functions of @hitrail/db.
export {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  ne,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
export * as schema from "../schema/index.ts";
