// Ready-made traffic sources: where each network puts its click ID, cost and other data on the
// entrance link (its own macros), and the S2S postback URL it wants, written with our macros
// ({external} = the click ID the network sent, {payout} = the conversion's revenue). Account-specific
// parts of postback URLs are in capitals (YOUR_…) for the user to replace from the network's
// dashboard. Networks without a URL postback (they take conversions through an API) have none.

export interface TrafficSourceTemplate {
  label: string;
  /** Entrance-link parameter carrying the network's click ID, and the network's macro for it. */
  externalParam: string;
  /** null: the network appends its click ID itself (gclid, fbclid); the link needs no macro. */
  externalMacro: string | null;
  campaignParam: string;
  campaignMacro: string | null;
  costParam: string;
  /** null: the network has no per-click cost macro; cost is not on the link. */
  costMacro: string | null;
  trackingFields: Array<{ name: string; param: string; macro: string }>;
  postbackUrl: string | null;
  notes: string;
}

export const TRAFFIC_SOURCE_TEMPLATES = {
  propellerads: {
    label: "PropellerAds",
    externalParam: "subid",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: PropellerAds macros are written ${NAME}
    externalMacro: "${SUBID}",
    campaignParam: "campaignid",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: PropellerAds macros are written ${NAME}
    campaignMacro: "${CAMPAIGNID}",
    costParam: "cost",
    costMacro: null,
    trackingFields: [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: PropellerAds macros are written ${NAME}
      { name: "zoneid", param: "zoneid", macro: "${ZONEID}" },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: PropellerAds macros are written ${NAME}
      { name: "bannerid", param: "bannerid", macro: "${BANNERID}" },
    ],
    postbackUrl:
      "http://ad.propellerads.com/conversion.php?aid=YOUR_AID&pid=&tid=YOUR_TID&visitor_id={external}&payout={payout}",
    notes: "Take aid and tid from PropellerAds' tracking settings.",
  },
  zeropark: {
    label: "Zeropark",
    externalParam: "cid",
    externalMacro: "{cid}",
    campaignParam: "campaignid",
    campaignMacro: "{campaign_id}",
    costParam: "cost",
    costMacro: "{visit_cost}",
    trackingFields: [
      { name: "target", param: "target", macro: "{target}" },
      { name: "source", param: "source", macro: "{source}" },
      { name: "keyword", param: "keyword", macro: "{keyword}" },
    ],
    postbackUrl:
      "http://postback.zeroredirect1.com/zppostback/YOUR_POSTBACK_KEY?cid={external}&payout={payout}",
    notes: "Copy the postback key from Zeropark's tracking settings.",
  },
  trafficjunky: {
    label: "TrafficJunky",
    externalParam: "aclid",
    externalMacro: "{click_id}",
    campaignParam: "campaignid",
    campaignMacro: "{CampaignID}",
    costParam: "cost",
    costMacro: "{BidValue}",
    trackingFields: [{ name: "spotid", param: "spotid", macro: "{SpotID}" }],
    postbackUrl:
      "https://ads.trafficjunky.net/ct?a=YOUR_CONVERSION_ID&member_id=YOUR_MEMBER_ID&ctv={payout}&aclid={external}",
    notes: "Copy the conversion ID and member ID from TrafficJunky's conversion tracking page.",
  },
  exoclick: {
    label: "ExoClick",
    externalParam: "clickid",
    externalMacro: "{conversions_tracking}",
    campaignParam: "campaignid",
    campaignMacro: "{campaign_id}",
    costParam: "cost",
    costMacro: null,
    trackingFields: [
      { name: "zoneid", param: "zoneid", macro: "{zone_id}" },
      { name: "siteid", param: "siteid", macro: "{site_id}" },
      { name: "variationid", param: "variationid", macro: "{variation_id}" },
    ],
    postbackUrl: "https://s.magsrv.com/tag.php?goal=YOUR_GOAL_ID&tag={external}&value={payout}",
    notes: "Create a conversion goal in ExoClick (Campaigns › Conversion Tracking) and use its ID.",
  },
  google_ads: {
    label: "Google Ads",
    externalParam: "gclid",
    externalMacro: null,
    campaignParam: "campaignid",
    campaignMacro: "{campaignid}",
    costParam: "cost",
    costMacro: null,
    trackingFields: [
      { name: "adgroupid", param: "adgroupid", macro: "{adgroupid}" },
      { name: "creative", param: "creative", macro: "{creative}" },
      { name: "keyword", param: "keyword", macro: "{keyword}" },
      { name: "matchtype", param: "matchtype", macro: "{matchtype}" },
      { name: "network", param: "network", macro: "{network}" },
      { name: "placement", param: "placement", macro: "{placement}" },
    ],
    postbackUrl: null,
    notes:
      "Auto-tagging appends gclid by itself. Google Ads takes conversions by offline import or its API, not by URL.",
  },
  facebook: {
    label: "Facebook / Meta",
    externalParam: "fbclid",
    externalMacro: null,
    campaignParam: "campaignid",
    campaignMacro: "{{campaign.id}}",
    costParam: "cost",
    costMacro: null,
    trackingFields: [
      { name: "adsetid", param: "adsetid", macro: "{{adset.id}}" },
      { name: "adid", param: "adid", macro: "{{ad.id}}" },
      { name: "placement", param: "placement", macro: "{{placement}}" },
      { name: "sitesource", param: "sitesource", macro: "{{site_source_name}}" },
    ],
    postbackUrl: null,
    notes: "Meta appends fbclid by itself and takes conversions through the Conversions API, not by URL.",
  },
  tiktok: {
    label: "TikTok",
    externalParam: "ttclid",
    externalMacro: "__CALLBACK_PARAM__",
    campaignParam: "campaignid",
    campaignMacro: "__CAMPAIGN_ID__",
    costParam: "cost",
    costMacro: null,
    trackingFields: [
      { name: "adgroupid", param: "adgroupid", macro: "__AID__" },
      { name: "adid", param: "adid", macro: "__CID__" },
      { name: "placement", param: "placement", macro: "__PLACEMENT__" },
    ],
    postbackUrl: null,
    notes: "TikTok takes conversions through its Events API, not by URL.",
  },
} as const satisfies Record<string, TrafficSourceTemplate>;

export type TrafficSourceTemplateKey = keyof typeof TRAFFIC_SOURCE_TEMPLATES;
export const TRAFFIC_SOURCE_TEMPLATE_KEYS = Object.keys(TRAFFIC_SOURCE_TEMPLATES) as [
  TrafficSourceTemplateKey,
  ...TrafficSourceTemplateKey[],
];
