// Preloaded (`node --import`) into every app `pnpm start` runs. The apps run in process groups of
// their own so a Ctrl-C reaches only the supervisor; if the supervisor itself dies without stopping
// them (kill -9), its IPC channel closes and each app shuts down as on SIGTERM instead of holding its
// port until the next `pnpm start` fails on it.
if (process.channel) {
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

export {};
