import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { Card, CodeLine, ErrorText, Select } from "../components/ui.tsx";
import { errorMessage, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

/** Everything a user pastes somewhere else, with the workspace's domain filled in. */
export function TrackingCodes() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const [params] = useSearchParams();
  const [domainId, setDomainId] = useState<string | undefined>(undefined);
  const [funnelId, setFunnelId] = useState(params.get("funnel") ?? "");
  const [trafficSourceId, setTrafficSourceId] = useState("");
  const [offerId, setOfferId] = useState("");
  const codes = useQuery(
    trpc.trackingCodes.get.queryOptions({ workspaceId: ws.id, ...(domainId ? { domainId } : {}) }),
  );
  const funnels = useQuery(trpc.funnels.list.queryOptions({ workspaceId: ws.id }));
  const sources = useQuery(trpc.trafficSources.list.queryOptions({ workspaceId: ws.id }));
  const offers = useQuery(trpc.offers.list.queryOptions({ workspaceId: ws.id }));
  const funnel = funnelId || funnels.data?.items[0]?.id || "";
  const source = trafficSourceId || sources.data?.items[0]?.id || "";
  const offer = offerId || offers.data?.items[0]?.id || "";
  const link = useQuery({
    ...trpc.trackingCodes.entranceLink.queryOptions({
      workspaceId: ws.id,
      funnelId: funnel,
      trafficSourceId: source,
      ...(domainId ? { domainId } : {}),
    }),
    enabled: funnel !== "" && source !== "",
  });
  const pages = useQuery({
    ...trpc.trackingCodes.funnelPages.queryOptions({
      workspaceId: ws.id,
      funnelId: funnel,
      ...(domainId ? { domainId } : {}),
    }),
    enabled: funnel !== "",
  });
  const offerCodes = useQuery({
    ...trpc.trackingCodes.offer.queryOptions({
      workspaceId: ws.id,
      offerId: offer,
      ...(domainId ? { domainId } : {}),
    }),
    enabled: offer !== "",
  });
  const c = codes.data;
  return (
    <div className="flex flex-col gap-4">
      <ErrorText error={codes.error ? errorMessage(codes.error) : null} />
      {c ? (
        <Card
          title="Postback URLs"
          actions={
            <Select
              label="Domain"
              value={c.domain.id}
              onChange={(e) => setDomainId(e.target.value)}
              options={c.domains.map((d) => ({ value: d.id, label: d.host }))}
            />
          }
        >
          <div className="flex flex-col gap-3">
            <CodeLine label="Global postback (by hit)" value={c.postback.hit} />
            <CodeLine label="With status" value={c.postback.hitWithStatus} />
            <CodeLine
              label="Without traffic-source postback"
              value={c.postback.hitWithoutTrafficSourcePostback}
            />
            <CodeLine label="By visitor and page (vid + p)" value={c.postback.vid} />
            <CodeLine label="By visitor, with status" value={c.postback.vidWithStatus} />
            <CodeLine label="Universal tag" value={c.universalTag} />
            <p className="text-xs text-slate-600">
              On its own, the universal tag records no page view: it does not know which funnel, node and page
              it is on. It gives the page <code>flux.track("conversion", …)</code> and custom events, which
              convert the visitor's most recent offer view. To record a page's views, put that page's tag
              (below, with its funnel, node and page) on it instead.
            </p>
          </div>
        </Card>
      ) : null}
      <Card title="Entrance link">
        <div className="mb-3 flex flex-wrap gap-3">
          <Select
            label="Funnel"
            value={funnel}
            onChange={(e) => setFunnelId(e.target.value)}
            options={(funnels.data?.items ?? []).map((f) => ({ value: f.id, label: f.name }))}
          />
          <Select
            label="Traffic source"
            value={source}
            onChange={(e) => setTrafficSourceId(e.target.value)}
            options={(sources.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }))}
          />
        </div>
        <ErrorText error={link.error ? errorMessage(link.error) : null} />
        {link.data ? (
          <div className="flex flex-col gap-1">
            <CodeLine label="Entrance link" value={link.data.url} />
            {link.data.placeholders.length > 0 ? (
              <p className="text-xs text-amber-800">
                Replace REPLACE in {link.data.placeholders.join(", ")} with your traffic source's own macros
                (or set them on the traffic source).
              </p>
            ) : null}
          </div>
        ) : (
          <p className="text-sm text-slate-500">Pick a funnel and a traffic source.</p>
        )}
      </Card>
      <Card title="Page codes">
        <p className="mb-3 text-xs text-slate-600">
          For the funnel picked above. A lander sends visitors on with its action links, one per action of its
          node. With the page's tag on the lander, plain action links are enough: the tag adds the visitor
          (vid), the hit and the node to every <code>/action/</code> link on the page. Without the tag the
          tracker finds the visitor by its cookie; where cookies are blocked, put the <code>vid</code> the
          lander received in its own URL in place of REPLACE.
        </p>
        <ErrorText error={pages.error ? errorMessage(pages.error) : null} />
        <div className="flex flex-col gap-4">
          {(pages.data?.nodes ?? []).map((node) => (
            <section
              key={node.nodeId}
              aria-label={`${node.kind === "lander" ? "Lander" : "Offer"} ${node.name}`}
            >
              <h3 className="mb-2 text-sm font-semibold">
                {node.kind === "lander" ? "Lander" : "Offer"} node: {node.name}
              </h3>
              <div className="flex flex-col gap-3 border-l-2 border-slate-200 pl-3">
                {node.actions.map((a) => (
                  <div key={a.number} className="flex flex-col gap-2">
                    <CodeLine label={`Action ${a.number} → ${a.to}`} value={a.url} />
                    <CodeLine
                      label={`Action ${a.number}, cookies blocked (vid from the page's URL)`}
                      value={a.urlWithVisitor}
                    />
                  </div>
                ))}
                {node.pages.map((p) => (
                  <CodeLine
                    key={p.pageId}
                    label={`Page tag of ${p.name} (records its views)`}
                    value={p.pageTag}
                  />
                ))}
              </div>
            </section>
          ))}
        </div>
      </Card>
      <Card title="Offer codes">
        <Select
          label="Offer"
          value={offer}
          onChange={(e) => setOfferId(e.target.value)}
          options={(offers.data?.items ?? []).map((o) => ({ value: o.id, label: o.name }))}
        />
        {offerCodes.data ? (
          <div className="mt-3 flex flex-col gap-3">
            <CodeLine label="Offer URL (as the redirect sends it)" value={offerCodes.data.offerUrl} />
            {offerCodes.data.hitProblem ? (
              <div
                role="alert"
                className="flex flex-col gap-1 rounded border border-amber-200 bg-amber-50 p-2"
              >
                <p className="text-xs text-amber-900">{offerCodes.data.hitProblem}</p>
                {offerCodes.data.suggestedOfferUrl ? (
                  <CodeLine label="Offer URL that would work" value={offerCodes.data.suggestedOfferUrl} />
                ) : null}
              </div>
            ) : null}
            <CodeLine label="flux.track conversion snippet" value={offerCodes.data.conversionSnippet} />
            {offerCodes.data.postbackUrl ? (
              <CodeLine label="Postback for the offer source" value={offerCodes.data.postbackUrl} />
            ) : null}
          </div>
        ) : null}
      </Card>
    </div>
  );
}
