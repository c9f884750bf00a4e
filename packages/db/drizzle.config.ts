import { defineConfig } from "drizzle-kit";

// Generation only needs the schema; migrations are applied by `pnpm hitrail migrate`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema/index.ts",
  out: "./drizzle",
  casing: "snake_case",
});
