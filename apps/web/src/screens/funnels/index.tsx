export { FunnelBuilder } from "./builder.tsx";
export { Funnels } from "./list.tsx";
