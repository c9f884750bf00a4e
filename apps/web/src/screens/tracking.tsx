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
            <CodeLine label="Universal tag (every page)" value={c.universalTag} />
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
          <CodeLine label="Entrance link" value={link.data.url} />
        ) : (
          <p className="text-sm text-slate-500">Pick a funnel and a traffic source.</p>
        )}
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
            <CodeLine label="Offer URL" value={offerCodes.data.offerUrl} />
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
