import type { StatusMapTemplateName } from "@hitrail/core";

// Ready-made offer sources: the parameter each network takes our {hit} in, and the postback it
// should call, written with the network's own macros. DOMAIN is replaced by the workspace's tracking
// domain when tracking codes are shown.

export interface OfferSourceTemplate {
  label: string;
  clickIdParam: string;
  postbackTemplate: string | null;
  statusParam: string;
  /** A status map from core's STATUS_MAP_TEMPLATES the network's status words fit. */
  statusMapTemplate: StatusMapTemplateName | null;
  notes: string;
}

export const OFFER_SOURCE_TEMPLATES = {
  maxbounty: {
    label: "MaxBounty",
    clickIdParam: "s2",
    postbackTemplate: "https://DOMAIN/pb/?hit=#S2#&tx=#LEADID#&rev=#RATE#",
    statusParam: "status",
    statusMapTemplate: null,
    notes: "MaxBounty returns sub IDs s1-s5 as #S1#-#S5#; the hit travels in s2.",
  },
  clickbank: {
    label: "ClickBank",
    clickIdParam: "tid",
    postbackTemplate: null,
    statusParam: "status",
    statusMapTemplate: "clickbank",
    notes:
      "ClickBank reports sales by Instant Notification (INS), not a macro postback, and its tid is short: " +
      "convert with the tag on the order confirmation page, or forward INS to /pb/ with the transaction type as status.",
  },
  affise: {
    label: "Affise",
    clickIdParam: "sub1",
    postbackTemplate: "https://DOMAIN/pb/?hit={sub1}&tx={transactionid}&rev={sum}&status={status}",
    statusParam: "status",
    statusMapTemplate: "affise",
    notes: "Affise has no click ID macro for affiliates; the hit travels in sub1 and returns as {sub1}.",
  },
  everflow: {
    label: "Everflow",
    clickIdParam: "sub1",
    postbackTemplate: "https://DOMAIN/pb/?hit={sub1}&tx={transaction_id}&rev={payout_amount}",
    statusParam: "status",
    statusMapTemplate: null,
    notes: "Everflow returns sub1-sub5 as {sub1}-{sub5}; {transaction_id} is Everflow's own click ID.",
  },
  cake: {
    label: "CAKE",
    clickIdParam: "s2",
    postbackTemplate: "https://DOMAIN/pb/?hit=#s2#&tx=#leadid#&rev=#price#",
    statusParam: "status",
    statusMapTemplate: null,
    notes: "CAKE reserves s1 for sub-affiliates and recommends s2 for click IDs; s2 holds 100 characters.",
  },
  tune: {
    label: "HasOffers / TUNE",
    clickIdParam: "aff_sub",
    postbackTemplate: "https://DOMAIN/pb/?hit={aff_sub}&tx={transaction_id}&rev={payout}",
    statusParam: "status",
    statusMapTemplate: null,
    notes: "TUNE returns aff_sub as {aff_sub}.",
  },
} as const satisfies Record<string, OfferSourceTemplate>;

export type OfferSourceTemplateKey = keyof typeof OFFER_SOURCE_TEMPLATES;
export const OFFER_SOURCE_TEMPLATE_KEYS = Object.keys(OFFER_SOURCE_TEMPLATES) as [
  OfferSourceTemplateKey,
  ...OfferSourceTemplateKey[],
];
