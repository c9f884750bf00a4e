import pino, { type Logger } from "pino";
import { redactUrl } from "./redact-url.ts";

export type { Logger } from "pino";

export function createLogger(opts: {
  name: string;
  level: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level,
      base: { app: opts.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A logged URL may carry a postback secret (`?key=`): its value never reaches a line.
      serializers: { url: redactUrl },
      redact: {
        // Postback secrets, API keys and passwords never reach a log line.
        paths: ["*.password", "*.apiKey", "*.key", "req.headers.authorization", "req.headers.cookie"],
        censor: "[redacted]",
      },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}
