import { useQuery } from "@tanstack/react-query";
import { createContext, useContext } from "react";
import { type RouterOutputs, useTRPC } from "./trpc.ts";

export type Workspace = RouterOutputs["workspaces"]["get"];

export const WorkspaceContext = createContext<Workspace | null>(null);

/** The workspace the screen works in; every screen under the shell has one. */
export function useWorkspace(): Workspace {
  const ws = useContext(WorkspaceContext);
  if (!ws) throw new Error("useWorkspace outside a workspace");
  return ws;
}

const KEY = "hitrail.workspace";
export const rememberWorkspace = (id: string) => localStorage.setItem(KEY, id);
export const rememberedWorkspace = () => localStorage.getItem(KEY);

export function useWorkspaceQuery(id: string | null) {
  const trpc = useTRPC();
  return useQuery({ ...trpc.workspaces.get.queryOptions({ workspaceId: id ?? "" }), enabled: id !== null });
}
