import {
  type UseMutationOptions,
  type UseQueryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { useState } from "react";
import { type RouterInputs, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";
import type { ObjectActions, ObjectRow, Values } from "./object-screen.tsx";

/** The campaign objects whose routers have list, create, update and archive, by the id each takes. */
const ID_KEYS = {
  trafficSources: "trafficSourceId",
  offerSources: "offerSourceId",
  offers: "offerId",
  landers: "landerId",
  eventTypes: "eventTypeId",
} as const;
export type ObjectKind = keyof typeof ID_KEYS;

type Row<K extends ObjectKind> = RouterOutputs[K]["list"]["items"][number] & ObjectRow;
type CreateInput<K extends ObjectKind> = Omit<RouterInputs[K]["create"], "workspaceId">;
type UpdateInput<K extends ObjectKind> = Omit<RouterInputs[K]["update"], "workspaceId" | (typeof ID_KEYS)[K]>;

type Mutation = {
  mutationOptions: (o: { onSuccess: () => unknown }) => UseMutationOptions<unknown, Error, object>;
};
/**
 * What the five routers share. TypeScript cannot call a procedure on a union of routers, so the one
 * cast from a kind's router to this shape is here; what the hook takes and gives stays typed per kind.
 */
interface ObjectRouter {
  list: {
    queryOptions: (input: { workspaceId: string; includeArchived: boolean }) => UseQueryOptions<{
      items: unknown[];
    }>;
  };
  create: Mutation;
  update: Mutation;
  archive: Mutation;
}

/**
 * The list (archived ones on request) and the create, update and archive calls of one kind of
 * campaign object, as ObjectScreen takes them. `create` and `update` turn the form's values into the
 * api's input; the workspace and the row's id are added here. Every change refetches every query, as
 * an object's name shows up in other screens' lists.
 */
export function useObjects<K extends ObjectKind>(
  kind: K,
  input: {
    create: (values: Values) => CreateInput<K>;
    update: (values: Values, row: Row<K>) => UpdateInput<K>;
  },
): ObjectActions<Row<K>> {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const [showArchived, setShowArchived] = useState(false);
  const router = trpc[kind] as unknown as ObjectRouter;
  const onSuccess = () => queryClient.invalidateQueries();
  const list = useQuery(router.list.queryOptions({ workspaceId: ws.id, includeArchived: showArchived }));
  const create = useMutation(router.create.mutationOptions({ onSuccess }));
  const update = useMutation(router.update.mutationOptions({ onSuccess }));
  const archive = useMutation(router.archive.mutationOptions({ onSuccess }));
  const idKey = ID_KEYS[kind];
  return {
    rows: (list.data?.items ?? []) as Row<K>[],
    listError: list.error,
    showArchived,
    setShowArchived,
    create: (values) => create.mutateAsync({ workspaceId: ws.id, ...input.create(values) }),
    update: (row, values) =>
      update.mutateAsync({
        workspaceId: ws.id,
        [idKey]: (row as ObjectRow).id,
        ...input.update(values, row),
      }),
    archive: (row, archived) =>
      archive.mutateAsync({ workspaceId: ws.id, [idKey]: (row as ObjectRow).id, archived }),
  };
}
