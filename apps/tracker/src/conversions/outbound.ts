export { outboundMacros, renderOutboundPostback, trafficSourceNotify } from "@hitrail/conversions";
