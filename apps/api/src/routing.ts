import type { Logger } from "@hitrail/observability";
import { publishFunnelVersion, type Redis } from "@hitrail/queue";

/** Tells trackers that a funnel changed, so the next click routes with the committed graph. */
export interface RoutingNotifier {
  funnelChanged(input: { workspaceId: string; funnelId: string; version: number }): Promise<void>;
}

/** How long a save waits for Redis before answering anyway (trackers' own poll then catches up). */
const NOTIFY_DEADLINE_MS = 500;

/**
 * The notice is written after the save committed and before the save answers: a caller that sees
 * the answer can click at once. Redis being away never fails a save; the trackers' version poll
 * (about a second) is the fallback, and the line says so.
 */
export function redisRoutingNotifier(redis: Redis, prefix: string, logger: Logger): RoutingNotifier {
  return {
    async funnelChanged(input) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          publishFunnelVersion(redis, prefix, input),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${NOTIFY_DEADLINE_MS} ms`)),
              NOTIFY_DEADLINE_MS,
            );
          }),
        ]);
      } catch (error) {
        logger.warn(
          { err: (error as Error).message, ...input },
          "funnel version not written to Redis; trackers pick the change up by their poll",
        );
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
