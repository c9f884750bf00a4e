import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button, ErrorText, Field } from "../components/ui.tsx";
import { errorMessage, useTRPC } from "../trpc.ts";
import { rememberWorkspace } from "../workspace.tsx";

/**
 * /invite/:token — what the link invites to, then: accept (signed in as the invited address),
 * create the account through the link, or sign in first.
 */
export function AcceptInvitation({ token, signedInAs }: { token: string; signedInAs: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const preview = useQuery({ ...trpc.invitations.get.queryOptions({ token }), retry: false });
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [mode, setMode] = useState<"sign-up" | "sign-in">("sign-up");
  const joined = async (workspaceId: string) => {
    rememberWorkspace(workspaceId);
    await queryClient.invalidateQueries();
    window.location.assign("/reports");
  };
  const accept = useMutation(
    trpc.invitations.accept.mutationOptions({ onSuccess: (j) => joined(j.workspaceId) }),
  );
  const signUp = useMutation(
    trpc.invitations.signUp.mutationOptions({ onSuccess: (r) => joined(r.joined.workspaceId) }),
  );
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
  );
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
  );

  const box = (children: React.ReactNode) => (
    <main className="mx-auto mt-24 max-w-md rounded border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-1 text-xl font-bold">Hitrail</h1>
      {children}
    </main>
  );
  if (preview.isPending) return box(<p className="text-slate-500">Loading the invitation…</p>);
  if (preview.error) return box(<ErrorText error={errorMessage(preview.error)} />);
  const inv = preview.data;
  const intro = (
    <p className="mb-4 text-sm">
      You are invited to <strong>{inv.workspaceName}</strong> as <strong>{inv.role}</strong>, as{" "}
      <strong>{inv.email}</strong>.
    </p>
  );
  if (signedInAs) {
    const same = signedInAs.toLowerCase() === inv.email.toLowerCase();
    return box(
      <>
        {intro}
        {same ? (
          <Button variant="primary" disabled={accept.isPending} onClick={() => accept.mutate({ token })}>
            Accept the invitation
          </Button>
        ) : (
          <>
            <p className="mb-3 text-sm">
              You are signed in as {signedInAs}. Sign out, then sign in as {inv.email} to accept.
            </p>
            <Button onClick={() => signOut.mutate()}>Sign out</Button>
          </>
        )}
        <ErrorText error={accept.error ? errorMessage(accept.error) : null} />
      </>,
    );
  }
  const m = mode === "sign-up" ? signUp : signIn;
  return box(
    <>
      {intro}
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (mode === "sign-up") signUp.mutate({ token, password, ...(name ? { name } : {}) });
          else signIn.mutate({ email: inv.email, password });
        }}
      >
        {mode === "sign-up" ? (
          <Field
            label="Your name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="name"
          />
        ) : null}
        <Field
          label="Password"
          type="password"
          autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <ErrorText error={m.error ? errorMessage(m.error) : null} />
        <Button type="submit" variant="primary" disabled={m.isPending}>
          {mode === "sign-up" ? "Create my account and join" : "Sign in"}
        </Button>
      </form>
      <p className="mt-4 text-sm">
        <button
          type="button"
          className="text-blue-700 underline"
          onClick={() => setMode(mode === "sign-up" ? "sign-in" : "sign-up")}
        >
          {mode === "sign-up"
            ? `Already have an account as ${inv.email}? Sign in`
            : "No account yet? Create one"}
        </button>
      </p>
    </>,
  );
}
