// The batch planner moved to @hitrail/conversions so that conversion imports apply exactly the rules postbacks do.
export * from "@hitrail/conversions";
