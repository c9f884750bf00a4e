import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Button, Card, CodeLine, type Column, ErrorText, Field, Select, Table } from "../components/ui.tsx";
import { dateTime } from "../format.ts";
import { errorMessage, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

type Domain = RouterOutputs["domains"]["list"][number];

export function Domains() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const invalidate = () => queryClient.invalidateQueries();
  const list = useQuery(trpc.domains.list.queryOptions({ workspaceId: ws.id }));
  const [host, setHost] = useState("");
  const add = useMutation(trpc.domains.add.mutationOptions({ onSuccess: invalidate }));
  const verify = useMutation(trpc.domains.verify.mutationOptions({ onSuccess: invalidate }));
  const remove = useMutation(trpc.domains.remove.mutationOptions({ onSuccess: invalidate }));
  const columns: Column<Domain>[] = [
    { key: "host", header: "Host", cell: (r) => r.host, sort: (r) => r.host },
    { key: "kind", header: "Kind", cell: (r) => r.kind },
    {
      key: "status",
      header: "Status",
      cell: (r) => (r.verified ? `verified ${dateTime(r.verifiedAt)}` : "waiting for verification"),
    },
    {
      key: "actions",
      header: "",
      cell: (r) =>
        r.kind === "custom" ? (
          <div className="flex gap-2">
            {!r.verified ? (
              <Button onClick={() => verify.mutate({ workspaceId: ws.id, domainId: r.id })}>Verify</Button>
            ) : null}
            <Button variant="danger" onClick={() => remove.mutate({ workspaceId: ws.id, domainId: r.id })}>
              Remove
            </Button>
          </div>
        ) : null,
    },
  ];
  const pending = (list.data ?? []).filter((d) => d.verification && !d.verified);
  return (
    <div className="flex flex-col gap-4">
      <Card title="Add a custom domain">
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate({ workspaceId: ws.id, host });
          }}
        >
          <Field
            label="Host name"
            placeholder="track.example.com"
            value={host}
            onChange={(e) => setHost(e.target.value)}
            required
          />
          <Button type="submit" variant="primary" disabled={add.isPending}>
            Add domain
          </Button>
        </form>
        <ErrorText
          error={add.error ? errorMessage(add.error) : verify.error ? errorMessage(verify.error) : null}
        />
      </Card>
      {pending.map((d) =>
        d.verification ? (
          <Card key={d.id} title={`Verify ${d.host}`}>
            <p className="mb-2 text-sm">
              Create this DNS TXT record, or point the host at Hitrail so the tracker serves the token:
            </p>
            <div className="flex flex-col gap-2">
              <CodeLine label="TXT record name" value={d.verification.txtName} />
              <CodeLine label="TXT record value" value={d.verification.txtValue} />
              <CodeLine label="HTTP token URL" value={d.verification.httpUrl} />
            </div>
          </Card>
        ) : null,
      )}
      <Card title="Tracking domains">
        <Table caption="Tracking domains" rows={list.data ?? []} columns={columns} rowKey={(r) => r.id} />
      </Card>
    </div>
  );
}

type Member = RouterOutputs["members"]["list"][number];
type Invitation = RouterOutputs["members"]["invitations"][number];
const ROLES = ["owner", "admin", "member", "viewer"] as const;

/** An invitation link as the invitee opens it (the api returns it relative unless DASHBOARD_URL is set). */
const absolute = (link: string) => (link.startsWith("/") ? `${window.location.origin}${link}` : link);

export function Members() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const invalidate = () => queryClient.invalidateQueries();
  const list = useQuery(trpc.members.list.queryOptions({ workspaceId: ws.id }));
  const invitations = useQuery(trpc.members.invitations.queryOptions({ workspaceId: ws.id }));
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<(typeof ROLES)[number]>("member");
  const [sent, setSent] = useState<{ email: string; link: string | null } | null>(null);
  const invite = useMutation(
    trpc.members.invite.mutationOptions({
      onSuccess: (r) => {
        setSent({ email: r.invitation.email, link: r.link });
        setEmail("");
        return invalidate();
      },
    }),
  );
  const revokeInvitation = useMutation(
    trpc.members.revokeInvitation.mutationOptions({ onSuccess: invalidate }),
  );
  const setRoleM = useMutation(trpc.members.setRole.mutationOptions({ onSuccess: invalidate }));
  const remove = useMutation(trpc.members.remove.mutationOptions({ onSuccess: invalidate }));
  const columns: Column<Member>[] = [
    { key: "email", header: "Email", cell: (r) => r.email, sort: (r) => r.email },
    {
      key: "role",
      header: "Role",
      cell: (r) => (
        <Select
          label={`Role of ${r.email}`}
          className="[&>span]:sr-only"
          value={r.role}
          options={ROLES.map((x) => ({ value: x, label: x }))}
          onChange={(e) =>
            setRoleM.mutate({ workspaceId: ws.id, userId: r.userId, role: e.target.value as Member["role"] })
          }
        />
      ),
    },
    {
      key: "remove",
      header: "",
      cell: (r) => (
        <Button variant="danger" onClick={() => remove.mutate({ workspaceId: ws.id, userId: r.userId })}>
          Remove
        </Button>
      ),
    },
  ];
  const invitationColumns: Column<Invitation>[] = [
    { key: "email", header: "Email", cell: (r) => r.email, sort: (r) => r.email },
    { key: "role", header: "Role", cell: (r) => r.role },
    { key: "by", header: "Invited by", cell: (r) => r.invitedByEmail ?? "—" },
    { key: "expires", header: "Expires", cell: (r) => dateTime(r.expiresAt) },
    {
      key: "revoke",
      header: "",
      cell: (r) => (
        <Button
          variant="danger"
          onClick={() => revokeInvitation.mutate({ workspaceId: ws.id, invitationId: r.id })}
        >
          Withdraw
        </Button>
      ),
    },
  ];
  const error = [invite, revokeInvitation, setRoleM, remove].find((m) => m.error)?.error;
  return (
    <div className="flex flex-col gap-4">
      <Card title="Invite a member">
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            invite.mutate({ workspaceId: ws.id, email, role });
          }}
        >
          <Field
            label="Email"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
          />
          <Select
            label="Role"
            value={role}
            onChange={(e) => setRole(e.target.value as typeof role)}
            options={ROLES.map((x) => ({ value: x, label: x }))}
          />
          <Button type="submit" variant="primary" disabled={invite.isPending}>
            Invite
          </Button>
        </form>
        <ErrorText error={error ? errorMessage(error) : null} />
        {sent ? (
          <div className="mt-3 text-sm">
            {sent.link ? (
              <CodeLine
                label={`Send this link to ${sent.email} (valid 7 days; they accept it signed in as that address)`}
                value={absolute(sent.link)}
              />
            ) : (
              <p>Invitation emailed to {sent.email}.</p>
            )}
          </div>
        ) : null}
      </Card>
      <Card title="Members">
        <Table caption="Members" rows={list.data ?? []} columns={columns} rowKey={(r) => r.userId} />
      </Card>
      <Card title="Open invitations">
        <Table
          caption="Open invitations"
          rows={invitations.data ?? []}
          columns={invitationColumns}
          rowKey={(r) => r.id}
        />
      </Card>
    </div>
  );
}

type ApiKey = RouterOutputs["apiKeys"]["list"][number];

export function ApiKeys() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.apiKeys.list.queryOptions({ workspaceId: ws.id }));
  const [name, setName] = useState("");
  const [role, setRole] = useState<(typeof ROLES)[number]>("viewer");
  const [shown, setShown] = useState<string | null>(null);
  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: (created) => {
        setShown(created.key);
        setName("");
        return queryClient.invalidateQueries();
      },
    }),
  );
  const revoke = useMutation(
    trpc.apiKeys.revoke.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
  );
  const columns: Column<ApiKey>[] = [
    { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
    { key: "prefix", header: "Key", cell: (r) => <code>{r.prefix}…</code> },
    { key: "role", header: "Role", cell: (r) => r.role },
    { key: "creator", header: "Created by", cell: (r) => r.createdByEmail ?? "operator (CLI)" },
    { key: "used", header: "Last used", cell: (r) => (r.lastUsedAt ? dateTime(r.lastUsedAt) : "never") },
    {
      key: "revoke",
      header: "",
      cell: (r) =>
        r.revokedAt ? (
          "revoked"
        ) : (
          <Button variant="danger" onClick={() => revoke.mutate({ workspaceId: ws.id, apiKeyId: r.id })}>
            Revoke
          </Button>
        ),
    },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="New API key">
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ workspaceId: ws.id, name, role });
          }}
        >
          <Field label="Key name" value={name} onChange={(e) => setName(e.target.value)} required />
          <Select
            label="Role"
            value={role}
            onChange={(e) => setRole(e.target.value as typeof role)}
            options={ROLES.map((x) => ({ value: x, label: x }))}
          />
          <Button type="submit" variant="primary">
            Create key
          </Button>
        </form>
        <ErrorText error={create.error ? errorMessage(create.error) : null} />
        {shown ? (
          <div className="mt-3">
            <CodeLine label="Your new key — shown once, store it now" value={shown} />
          </div>
        ) : null}
      </Card>
      <Card title="API keys">
        <Table caption="API keys" rows={list.data ?? []} columns={columns} rowKey={(r) => r.id} />
      </Card>
    </div>
  );
}

/** Workspace settings: name, time zone and currency of reports, session lifetime, postback walls. */
export function WorkspaceSettings() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const [name, setName] = useState(ws.name);
  const [timeZone, setTimeZone] = useState(ws.timeZone);
  const [currency, setCurrency] = useState(ws.currency);
  const [days, setDays] = useState(String(ws.sessionTtlSeconds / 86_400));
  const [allowlist, setAllowlist] = useState(ws.postbackIpAllowlist.join(", "));
  const [visitorIdParam, setVisitorIdParam] = useState(ws.visitorIdParam);
  const update = useMutation(
    trpc.workspaces.update.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
  );
  const secret = useMutation(
    trpc.workspaces.setPostbackSecret.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
  );
  const zones = useMemo(() => {
    try {
      return Intl.supportedValuesOf("timeZone");
    } catch {
      return [ws.timeZone];
    }
  }, [ws.timeZone]);
  return (
    <div className="flex flex-col gap-4">
      <Card title="Workspace">
        <form
          className="grid grid-cols-1 gap-3 md:grid-cols-3"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate({
              workspaceId: ws.id,
              name,
              timeZone,
              currency: currency.toUpperCase(),
              sessionTtlSeconds: Math.round(Number(days) * 86_400),
              postbackIpAllowlist: allowlist
                .split(/[\s,]+/)
                .map((s) => s.trim())
                .filter(Boolean),
              visitorIdParam,
            });
          }}
        >
          <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <Select
            label="Time zone (reports, day and hour rules)"
            value={timeZone}
            onChange={(e) => setTimeZone(e.target.value)}
            options={zones.map((z) => ({ value: z, label: z }))}
          />
          <Field
            label="Currency"
            value={currency}
            maxLength={3}
            onChange={(e) => setCurrency(e.target.value)}
          />
          <Field
            label="Visitor session lifetime (days)"
            type="number"
            min={0.05}
            step="any"
            value={days}
            onChange={(e) => setDays(e.target.value)}
          />
          <Field
            label="Postback IP allow-list"
            hint="Addresses or CIDR ranges, comma-separated; empty accepts postbacks from anywhere"
            value={allowlist}
            onChange={(e) => setAllowlist(e.target.value)}
          />
          <Field
            label="Visitor ID parameter"
            hint="Appended to every lander and offer URL on redirect, and read back by the tag"
            value={visitorIdParam}
            maxLength={40}
            onChange={(e) => setVisitorIdParam(e.target.value)}
            required
          />
          <div className="flex items-end">
            <Button type="submit" variant="primary" disabled={update.isPending}>
              Save settings
            </Button>
          </div>
        </form>
        <ErrorText error={update.error ? errorMessage(update.error) : null} />
        {update.isSuccess ? <p className="mt-2 text-sm text-green-700">Saved.</p> : null}
      </Card>
      <Card title="Postback secret">
        <p className="mb-3 text-sm text-slate-600">
          With a secret, postbacks must carry <code>key=</code>; the tracking codes include it.{" "}
          {ws.postbackSecretSet ? "A secret is set." : "No secret is set."}
        </p>
        {ws.postbackSecret ? <CodeLine label="Current secret" value={ws.postbackSecret} /> : null}
        <div className="mt-3 flex gap-2">
          <Button onClick={() => secret.mutate({ workspaceId: ws.id })}>New random secret</Button>
          {ws.postbackSecretSet ? (
            <Button variant="danger" onClick={() => secret.mutate({ workspaceId: ws.id, secret: null })}>
              Remove secret
            </Button>
          ) : null}
        </div>
        <ErrorText error={secret.error ? errorMessage(secret.error) : null} />
      </Card>
    </div>
  );
}
