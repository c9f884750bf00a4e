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
        // A 4xx will not get better by asking again; anything else (a dropped connection, an api
        // restarting behind the proxy) gets two more tries, a second and then two apart.
        retry: (count, error) => count < 2 && !(error instanceof TRPCClientError && isClientError(error)),
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

/** "defaultPayout" → "Default payout", "postbackUrl" → "Postback URL": a key read as words. */
export function humanizeKey(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toLowerCase()
    .replace(/\b(url|id|ip|tx|js|cpc|cpa)\b/g, (w) => w.toUpperCase())
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// The api starts each problem with the field's path ("defaultPayout: must be an amount",
// "nodes[0].config.routes[0].weight: …") and joins problems with "; ".
const FIELD_PREFIX = /(^|; )([A-Za-z][A-Za-z0-9_]*)((?:\[\d+\]|\.[A-Za-z0-9_]+)*): /g;

/**
 * The message a person should read for a failed call. Field keys become the labels the person saw
 * (`labels`, by key, from the form), else the key in words.
 */
export function errorMessage(error: unknown, labels?: ReadonlyMap<string, string>): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof TRPCClientError)) return message;
  return labelFields(message, labels);
}

/** An api message with each problem's field key replaced by its label (or the key in words). */
export function labelFields(message: string, labels?: ReadonlyMap<string, string>): string {
  return message.replace(FIELD_PREFIX, (_all, sep: string, key: string, rest: string) => {
    const label = labels?.get(key) ?? humanizeKey(key);
    return `${sep}${rest ? `${label} ${rest.replace(/^\./, "")}` : label}: `;
  });
}

export function isUnauthorized(error: unknown): boolean {
  return (
    error instanceof TRPCClientError && (error.data as { code?: string } | undefined)?.code === "UNAUTHORIZED"
  );
}
