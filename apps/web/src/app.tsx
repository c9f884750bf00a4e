import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Navigate, NavLink, Route, Routes, useMatch, useNavigate } from "react-router";
import { Button, ErrorText, Field, Select } from "./components/ui.tsx";
import { SignIn, SignUp } from "./screens/auth.tsx";
import { Costs } from "./screens/costs.tsx";
import { FunnelBuilder, Funnels } from "./screens/funnels/index.tsx";
import { Imports } from "./screens/imports.tsx";
import { AcceptInvitation } from "./screens/invitation.tsx";
import { Conversions, Deliveries, Postbacks } from "./screens/logs.tsx";
import { EventTypes, Landers, OfferSources, Offers, TrafficSources } from "./screens/objects.tsx";
import { Reports } from "./screens/reports.tsx";
import { ApiKeys, Domains, Members, WorkspaceSettings } from "./screens/settings.tsx";
import { TrackingCodes } from "./screens/tracking.tsx";
import { errorMessage, useTRPC } from "./trpc.ts";
import { rememberedWorkspace, rememberWorkspace, useWorkspaceQuery, WorkspaceContext } from "./workspace.tsx";

export function App() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.session.queryOptions());
  const invite = useMatch("/invite/:token");
  if (me.isPending) return <p className="p-6 text-slate-500">Loading…</p>;
  if (me.error) return <ErrorText error={errorMessage(me.error)} />;
  if (invite?.params.token) {
    return <AcceptInvitation token={invite.params.token} signedInAs={me.data?.user?.email ?? null} />;
  }
  if (!me.data) {
    return (
      <Routes>
        <Route path="/sign-up" element={<SignUp />} />
        <Route path="*" element={<SignIn />} />
      </Routes>
    );
  }
  return <Shell workspaces={me.data.workspaces} email={me.data.user?.email ?? "API key"} />;
}

const NAV = [
  ["reports", "Reports"],
  ["costs", "Costs"],
  ["funnels", "Funnels"],
  ["traffic-sources", "Traffic sources"],
  ["offer-sources", "Offer sources"],
  ["offers", "Offers"],
  ["landers", "Landers"],
  ["event-types", "Custom events"],
  ["tracking-codes", "Tracking codes"],
  ["conversions", "Conversions"],
  ["imports", "Imports"],
  ["postbacks", "Postbacks"],
  ["deliveries", "Deliveries"],
  ["domains", "Domains"],
  ["members", "Members"],
  ["api-keys", "API keys"],
  ["settings", "Settings"],
] as const;

function Shell({
  workspaces,
  email,
}: {
  workspaces: Array<{ id: string; name: string; role: string }>;
  email: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const remembered = rememberedWorkspace();
  const [workspaceId, setWorkspaceId] = useState<string | null>(
    workspaces.find((w) => w.id === remembered)?.id ?? workspaces[0]?.id ?? null,
  );
  const workspace = useWorkspaceQuery(workspaceId);
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: async () => {
        await queryClient.resetQueries();
        navigate("/");
      },
    }),
  );
  if (workspaceId === null) return <CreateWorkspace />;
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <nav
        aria-label="Main"
        className="border-b border-slate-200 bg-slate-900 text-slate-100 md:w-56 md:border-b-0"
      >
        <div className="flex items-center justify-between px-4 py-3">
          <span className="text-base font-bold">Hitrail</span>
          <Button
            onClick={() => signOut.mutate()}
            className="!bg-slate-800 !text-slate-100 !border-slate-700"
          >
            Sign out
          </Button>
        </div>
        <div className="px-4 pb-3">
          <Select
            label="Workspace"
            className="[&>span]:text-slate-300"
            value={workspaceId}
            options={workspaces.map((w) => ({ value: w.id, label: `${w.name} (${w.role})` }))}
            onChange={(e) => {
              rememberWorkspace(e.target.value);
              setWorkspaceId(e.target.value);
            }}
          />
          <p className="mt-1 truncate text-xs text-slate-400">{email}</p>
        </div>
        <ul className="flex flex-wrap gap-1 px-2 pb-3 md:flex-col md:flex-nowrap">
          {NAV.map(([path, label]) => (
            <li key={path}>
              <NavLink
                to={`/${path}`}
                className={({ isActive }) =>
                  `block rounded px-3 py-1.5 text-sm ${isActive ? "bg-blue-600 text-white" : "hover:bg-slate-800"}`
                }
              >
                {label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="px-4 pb-4">
          <NavLink to="/new-workspace" className="text-xs text-slate-300 underline">
            New workspace
          </NavLink>
        </div>
      </nav>
      <main className="min-w-0 flex-1 p-4">
        {workspace.error ? <ErrorText error={errorMessage(workspace.error)} /> : null}
        {workspace.data ? (
          <WorkspaceContext.Provider key={workspace.data.id} value={workspace.data}>
            <Routes>
              <Route path="/" element={<Navigate to="/reports" replace />} />
              <Route path="/sign-up" element={<Navigate to="/reports" replace />} />
              <Route path="/reports" element={<Reports />} />
              <Route path="/costs" element={<Costs />} />
              <Route path="/funnels" element={<Funnels />} />
              <Route path="/funnels/:funnelId" element={<FunnelBuilder />} />
              <Route path="/traffic-sources" element={<TrafficSources />} />
              <Route path="/offer-sources" element={<OfferSources />} />
              <Route path="/offers" element={<Offers />} />
              <Route path="/landers" element={<Landers />} />
              <Route path="/event-types" element={<EventTypes />} />
              <Route path="/tracking-codes" element={<TrackingCodes />} />
              <Route path="/conversions" element={<Conversions />} />
              <Route path="/imports" element={<Imports />} />
              <Route path="/postbacks" element={<Postbacks />} />
              <Route path="/deliveries" element={<Deliveries />} />
              <Route path="/domains" element={<Domains />} />
              <Route path="/members" element={<Members />} />
              <Route path="/api-keys" element={<ApiKeys />} />
              <Route path="/settings" element={<WorkspaceSettings />} />
              <Route path="/new-workspace" element={<CreateWorkspace />} />
              <Route path="*" element={<p>Nothing here. Pick a screen on the left.</p>} />
            </Routes>
          </WorkspaceContext.Provider>
        ) : (
          <p className="text-slate-500">Loading workspace…</p>
        )}
      </main>
    </div>
  );
}

function CreateWorkspace() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const create = useMutation(
    trpc.workspaces.create.mutationOptions({
      onSuccess: async (ws) => {
        rememberWorkspace(ws.id);
        await queryClient.invalidateQueries();
        navigate("/reports");
        window.location.reload();
      },
    }),
  );
  return (
    <div className="mx-auto mt-16 max-w-md rounded border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-4 text-lg font-semibold">Create a workspace</h1>
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name, slug });
        }}
      >
        <Field label="Workspace name" value={name} onChange={(e) => setName(e.target.value)} required />
        <Field
          label="Slug"
          hint="Your tracking domain becomes {slug}.{base domain}"
          value={slug}
          onChange={(e) => setSlug(e.target.value.toLowerCase())}
          required
        />
        <ErrorText error={create.error ? errorMessage(create.error) : null} />
        <Button type="submit" variant="primary" disabled={create.isPending}>
          Create workspace
        </Button>
      </form>
    </div>
  );
}
