import type { AppRouter, RouterInputs, RouterOutputs } from "@hitrail/api";
import { QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpLink, splitLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";

export type { RouterInputs, RouterOutputs };

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        // A 4xx will not get better by asking again; anything else gets one more try.
        retry: (count, error) => count < 1 && !(error instanceof TRPCClientError && isClientError(error)),
      },
    },
  });
}

function isClientError(error: TRPCClientError<AppRouter>): boolean {
  const status = (error.data as { httpStatus?: number } | undefined)?.httpStatus ?? 500;
  return status >= 400 && status < 500;
}

/** Calls the api refuses inside a batch (credentials): each goes in a request of its own. */
const UNBATCHABLE = /^(auth\.(signIn|signUp|changePassword)|invitations\.(accept|signUp))$/;

/** Same origin: the session cookie travels by itself and nothing else is needed. */
export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => UNBATCHABLE.test(op.path),
        true: httpLink({ url: "/trpc" }),
        false: httpBatchLink({ url: "/trpc" }),
      }),
    ],
  });
}

/** The message a person should read for a failed call. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isUnauthorized(error: unknown): boolean {
  return (
    error instanceof TRPCClientError && (error.data as { code?: string } | undefined)?.code === "UNAUTHORIZED"
  );
}
