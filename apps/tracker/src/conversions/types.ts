export type * from "@hitrail/conversions";
