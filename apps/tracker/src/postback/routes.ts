import { redactUrl } from "@hitrail/observability";
import type { FastifyInstance } from "fastify";
import { findEventType } from "../conversions/event-types.ts";
import { conversionRecorderFor } from "../conversions/index.ts";
import type { TrackerDeps } from "../deps.ts";
import { FailureLimiter } from "./failure-limiter.ts";
import { flattenPostbackParams, UnreadableBody } from "./params.ts";
import { isSourceFailure, postbackAnswer, receivePostback } from "./receive-postback.ts";

/**
 * `GET|POST /pb/` on every tracking domain: conversion postbacks from networks. Bodies may be
 * form-encoded or JSON; a body that cannot be read is logged and answered 400 like any bad input.
 */
export async function registerPostbackRoutes(app: FastifyInstance, deps: TrackerDeps): Promise<void> {
  const recorder = conversionRecorderFor(deps);
  const limiter = new FailureLimiter(deps.redis, deps.prefix, deps.logger);
  const findEvent = (workspaceId: string, alias: string) => findEventType(deps, workspaceId, alias);

  await app.register(async (scope) => {
    scope.addHook("onClose", async () => {
      await recorder.drain();
    });

    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
      const text = String(body);
      if (text.trim() === "") return done(null, {});
      try {
        done(null, JSON.parse(text));
      } catch {
        done(null, new UnreadableBody("the JSON body could not be parsed"));
      }
    });
    scope.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string" },
      (_request, body, done) => {
        const values: Record<string, string> = Object.create(null);
        for (const [name, value] of new URLSearchParams(String(body)))
          if (!Object.hasOwn(values, name)) values[name] = value;
        done(null, values);
      },
    );
    // Any other body is ignored: the parameters are in the query string.
    scope.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) =>
      done(null, String(body)),
    );

    scope.route({
      method: ["GET", "POST"],
      url: "/pb",
      // A HEAD (link checkers, previews) must never record a conversion.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const workspace = request.workspace;
        const sourceKey = `${workspace.workspaceId}:${request.ip}`;
        const blockedMs = limiter.blockedForMs(sourceKey);
        if (blockedMs > 0) {
          const seconds = Math.ceil(blockedMs / 1000);
          request.log.info(
            { ip: request.ip, url: redactUrl(request.url) },
            "postback refused: too many failing postbacks",
          );
          return reply
            .code(429)
            .header("retry-after", String(seconds))
            .send({
              outcome: "rejected",
              error: `too many failing postbacks from ${request.ip}; retry in ${seconds} s (valid postbacks are never limited)`,
              notes: [],
              postbackId: null,
            });
        }
        const result = await receivePostback(recorder, findEvent, {
          workspace,
          method: request.method,
          ip: request.ip,
          params: flattenPostbackParams(request.query, request.body),
          receivedAt: deps.now(),
        });
        if (!result.ok) {
          request.log.info(
            { ip: request.ip, url: redactUrl(request.url), status: result.httpStatus, error: result.error },
            "postback rejected",
          );
          if (isSourceFailure(result)) await limiter.recordFailure(sourceKey);
          if (result.retryAfterSeconds !== undefined)
            reply.header("retry-after", String(result.retryAfterSeconds));
        }
        return reply.code(result.httpStatus).send(postbackAnswer(result));
      },
    });
  });
}
