// The conversion write path, in the order a postback meets it:
//   identity.ts  which stored conversion a request writes to
//   status.ts    the status words (the seed's, and an offer source's own map)
//   decide.ts    the seed's decision: create, update, restore, delete or ignore, and the revision
//   time.ts      when the conversion happened
//   touches.ts   backward attribution along the visitor's path
//   outbound.ts  whether the traffic source hears of it, and its postback URL
//   apply.ts     all of the above for one request against one converting hit
//   delivery.ts  what a delivery does when it fires, given what the conversion became since
export * from "./apply.ts";
export * from "./decide.ts";
export * from "./delivery.ts";
export * from "./identity.ts";
export * from "./outbound.ts";
export * from "./status.ts";
export * from "./time.ts";
export * from "./touches.ts";
