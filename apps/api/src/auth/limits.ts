import type { Redis } from "@hitrail/queue";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { ServiceError } from "../errors.ts";
import type { ApiSettings } from "../settings.ts";
import { sha256Hex } from "./tokens.ts";

/**
 * Attempt limits on Redis (rate-limiter-flexible), so every api process shares the counts. Each
 * call counts, batched or not. Should Redis be unreachable, an in-process limiter with the same
 * numbers stands in (the insurance limiter) rather than letting guesses through or failing sign-in.
 */
export interface Limits {
  /** Counts a sign-in attempt for the account and the address; refuses once either is spent. */
  signIn(input: { email: string; address: string }): Promise<void>;
  /** A correct password clears the account's failures (the address keeps its count). */
  signInSucceeded(email: string): Promise<void>;
  /** Counts a password check of a signed-in account (change password) against that account. */
  passwordCheck(userId: string): Promise<void>;
  /** Counts a sign-up or invitation acceptance against the address. */
  signUp(address: string): Promise<void>;
  /** Counts a certificate ask; false once the requester is over its minute's budget. */
  tlsAsk(address: string): Promise<boolean>;
}

function limiter(
  redis: Redis,
  keyPrefix: string,
  opts: { points: number; duration: number; blockDuration?: number },
) {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    ...opts,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, ...opts }),
  });
}

export function tooManyAttempts(what: string, retryAfterMs: number): ServiceError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ServiceError("TOO_MANY_REQUESTS", `too many ${what}; try again in ${seconds} s`, {
    retryAfterSeconds: seconds,
  });
}

async function consume(limiters: { limiter: RateLimiterRedis; key: string }[], what: string): Promise<void> {
  const results = await Promise.allSettled(limiters.map(({ limiter, key }) => limiter.consume(key)));
  let wait = 0;
  for (const r of results) {
    if (r.status === "fulfilled") continue;
    if (r.reason instanceof RateLimiterRes) wait = Math.max(wait, r.reason.msBeforeNext);
    else throw r.reason;
  }
  if (wait > 0) throw tooManyAttempts(what, wait);
}

export function createLimits(redis: Redis, prefix: string, settings: ApiSettings): Limits {
  const { perAccount, perAddress, windowSeconds } = settings.signInLimits;
  const window = { duration: windowSeconds, blockDuration: windowSeconds };
  const account = limiter(redis, `${prefix}:rl:auth:account`, { points: perAccount, ...window });
  const address = limiter(redis, `${prefix}:rl:auth:address`, { points: perAddress, ...window });
  const tls = limiter(redis, `${prefix}:rl:tls-ask`, { points: settings.tlsAskPerMinute, duration: 60 });
  // Emails are hashed: the limiter's keys say nothing about who tried.
  const accountKey = (email: string) => sha256Hex(email.trim().toLowerCase());
  return {
    signIn: ({ email, address: ip }) =>
      consume(
        [
          { limiter: account, key: accountKey(email) },
          { limiter: address, key: ip },
        ],
        "sign-in attempts",
      ),
    signInSucceeded: async (email) => {
      await account.delete(accountKey(email));
    },
    passwordCheck: (userId) => consume([{ limiter: account, key: `user:${userId}` }], "password attempts"),
    signUp: (ip) => consume([{ limiter: address, key: ip }], "attempts from this address"),
    tlsAsk: async (ip) => {
      try {
        await tls.consume(ip);
        return true;
      } catch (error) {
        if (error instanceof RateLimiterRes) return false;
        throw error;
      }
    },
  };
}
